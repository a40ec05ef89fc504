/** The blobs a version names by hash: its served file and the files kept beside it. */

/** The hashes in `details.alternates[].artifact.sha256` (a trained version's TF.js export). */
export function alternateArtifacts(details: unknown): string[] {
	const list = (details as { alternates?: unknown } | null | undefined)?.alternates;
	if (!Array.isArray(list)) return [];
	return list
		.map(a => (a as { artifact?: { sha256?: unknown } } | null)?.artifact?.sha256)
		.filter((sha): sha is string => typeof sha === "string");
}

/** Every hash a version (as created) names: the served artifact first, then the alternates. */
export function versionArtifacts(version: {
	artifact?: { sha256: string } | null;
	details?: unknown;
}): string[] {
	return [
		...(version.artifact ? [version.artifact.sha256] : []),
		...alternateArtifacts(version.details),
	];
}
