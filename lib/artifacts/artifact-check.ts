/**
 * The registry's check before a version or dataset names blobs by hash: each must be one the
 * caller's tenant may use. `artifacts.stat`, called for the caller (its tenant travels in the
 * meta), answers NOT_FOUND for another tenant's blob exactly as for a hash never stored.
 */
import { ARTIFACT_ACTIONS, type ArtifactCall, type ArtifactStat } from "./artifact-protocol";

/** Each blob's stat, in the order given (a hash named twice is asked once); NOT_FOUND otherwise. */
export async function requireArtifacts(
	call: ArtifactCall,
	hashes: Iterable<string>,
): Promise<ArtifactStat[]> {
	const stats: ArtifactStat[] = [];
	for (const sha256 of new Set(hashes)) {
		stats.push((await call(ARTIFACT_ACTIONS.stat, { sha256 })) as ArtifactStat);
	}
	return stats;
}
