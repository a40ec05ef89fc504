/**
 * Which replica gets a prediction call: the least loaded, by what its node last reported and
 * what this caller has sent it since. The routing strategy gathers the candidates (the nodes
 * holding a ready replica of the version) and calls this per request.
 */

/** A report older than this is not trusted: its node may have drained or filled since. */
export const STALE_REPORT_MS = 5_000;

export interface ReplicaLoad {
	nodeID: string;
	/** Active + queued requests for that version, from the node's last status event. */
	reportedActive: number;
	/** When that status was sampled (ms, the node's clock). */
	reportedAt: number;
	/** Calls this caller has sent to that node and not yet answered. */
	localInFlight: number;
}

/**
 * The load of a replica as `localInFlight + reportedActive`, the report counting as 0 once it is
 * older than `staleAfterMs`. The sum counts this caller's own calls twice while the report still
 * includes them; that errs toward what this caller knows for certain and needs no bookkeeping of
 * which calls a report saw. A report from the future (clocks differ between nodes) counts as
 * fresh. Negative or non-numeric figures count as 0.
 */
export function replicaLoad(
	candidate: ReplicaLoad,
	now: number,
	staleAfterMs = STALE_REPORT_MS,
): number {
	const fresh = now - candidate.reportedAt <= staleAfterMs;
	return count(candidate.localInFlight) + (fresh ? count(candidate.reportedActive) : 0);
}

/**
 * The nodeID of the least loaded candidate (see replicaLoad); ties are broken by `random()`, so
 * equal replicas share the traffic evenly. null when there is no candidate.
 */
export function chooseReplica(
	candidates: readonly ReplicaLoad[],
	now: number,
	random: () => number = Math.random,
	staleAfterMs = STALE_REPORT_MS,
): string | null {
	let least = Infinity;
	let tied: string[] = [];
	for (const candidate of candidates) {
		const load = replicaLoad(candidate, now, staleAfterMs);
		if (load < least) {
			least = load;
			tied = [candidate.nodeID];
		} else if (load === least) {
			tied.push(candidate.nodeID);
		}
	}
	if (tied.length === 0) return null;
	if (tied.length === 1) return tied[0];
	const index = Math.floor(random() * tied.length);
	return Number.isFinite(index) ? tied[Math.min(Math.max(index, 0), tied.length - 1)] : tied[0];
}

function count(value: number): number {
	return Number.isFinite(value) && value > 0 ? value : 0;
}
