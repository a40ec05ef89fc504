/**
 * Which blobs garbage collection deletes: a pure decision from what is stored,
 * what is referenced and the time, so every case is a row in a table test.
 */
import { normalizeSha256 } from "./artifact-hash";

/** A blob as GC sees it. */
export interface StoredBlob {
	sha256: string;
	size: number;
	/** When its content was last put (a put of existing content refreshes it), ms since epoch. */
	lastStoredAtMs: number;
}

export interface GcContext {
	blobs: readonly StoredBlob[];
	/** Hashes some version, dataset or checkpoint refers to; any case, "sha256:" prefix allowed. */
	referenced: Iterable<string>;
	nowMs: number;
	/** Unreferenced blobs stored this recently are kept: their version may not be committed yet. */
	graceMs: number;
}

export type KeepReason = "referenced" | "within-grace";

export interface GcDecision {
	remove: StoredBlob[];
	keep: { blob: StoredBlob; reason: KeepReason }[];
}

/**
 * Deletes a blob only when nothing references it and it was last stored more than the grace
 * period ago. A blob stamped in the future (a clock step back) counts as just stored.
 */
export function decideGarbage(context: GcContext): GcDecision {
	const referenced = new Set<string>();
	for (const entry of context.referenced) {
		const sha256 = normalizeSha256(entry);
		if (sha256 !== null) referenced.add(sha256);
	}
	const decision: GcDecision = { remove: [], keep: [] };
	for (const blob of context.blobs) {
		if (referenced.has(blob.sha256)) {
			decision.keep.push({ blob, reason: "referenced" });
		} else if (withinGrace(blob.lastStoredAtMs, context.nowMs, context.graceMs)) {
			decision.keep.push({ blob, reason: "within-grace" });
		} else {
			decision.remove.push(blob);
		}
	}
	return decision;
}

/** Whether a blob last stored at `lastStoredAtMs` is still protected by the grace period. */
export function withinGrace(lastStoredAtMs: number, nowMs: number, graceMs: number): boolean {
	return nowMs - lastStoredAtMs <= graceMs;
}
