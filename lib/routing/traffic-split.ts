/**
 * Which version of a deployment serves a request, by the deployment's traffic weights (canary,
 * A/B). A request that carries a key always gets the same version while the weights stay the
 * same (sticky sessions, a user seeing one model); one without a key is split at random.
 */
import { InvalidInputError } from "../errors";

/** One version's share of the traffic; weights are relative (90/10 = 9/1), ≥ 0, sum > 0. */
export interface TrafficTarget {
	version: string;
	weight: number;
}

/** null when the split is usable; else a message that says what to fix. */
export function validateTraffic(targets: readonly TrafficTarget[]): string | null {
	if (targets.length === 0) return "traffic must name at least one version";
	const seen = new Set<string>();
	let total = 0;
	for (const { version, weight } of targets) {
		if (typeof version !== "string" || version === "") {
			return "every traffic entry needs a version";
		}
		if (seen.has(version)) return `version ${version} appears twice in traffic: merge them`;
		seen.add(version);
		if (typeof weight !== "number" || !Number.isFinite(weight) || weight < 0) {
			return `the weight of version ${version} must be a number ≥ 0 (got ${String(weight)})`;
		}
		total += weight;
	}
	if (total <= 0) return "traffic weights sum to 0: give at least one version a weight above 0";
	return null;
}

/**
 * Picks the version for one request. The targets are ordered by version (so a split stored in
 * another order routes the same) and laid on [0, 1) by weight; the request's point is the hash
 * of its sticky key, or `random()` without one. With two versions, raising the canary's weight
 * therefore moves keys only toward it: a key on the canary stays there.
 *
 * Throws InvalidInputError for a split that validateTraffic refuses.
 */
export function pickTarget(
	targets: readonly TrafficTarget[],
	stickyKey: string | undefined,
	random: () => number = Math.random,
): string {
	const problem = validateTraffic(targets);
	if (problem !== null) throw new InvalidInputError(`Invalid traffic split: ${problem}.`);
	const ordered = [...targets].sort((a, b) =>
		a.version < b.version ? -1 : a.version > b.version ? 1 : 0,
	);
	const total = ordered.reduce((sum, target) => sum + target.weight, 0);
	const unit = stickyKey === undefined ? random() : hashToUnit(stickyKey);
	const point = Math.min(Math.max(unit, 0), 1) * total;
	let reached = 0;
	let last = ordered[0].version;
	for (const target of ordered) {
		if (target.weight <= 0) continue;
		reached += target.weight;
		last = target.version;
		if (point < reached) return target.version;
	}
	// Only a point at the very end (random() = 1, rounding) gets here.
	return last;
}

/**
 * Maps a key to [0, 1): FNV-1a (32-bit) over its UTF-8 bytes, then MurmurHash3's finalizer so
 * that keys differing in their last character spread over the whole range.
 */
export function hashToUnit(key: string): number {
	let hash = 0x811c9dc5;
	for (const byte of Buffer.from(key, "utf8")) {
		hash ^= byte;
		hash = Math.imul(hash, 0x01000193);
	}
	hash ^= hash >>> 16;
	hash = Math.imul(hash, 0x85ebca6b);
	hash ^= hash >>> 13;
	hash = Math.imul(hash, 0xc2b2ae35);
	hash ^= hash >>> 16;
	return (hash >>> 0) / 0x100000000;
}
