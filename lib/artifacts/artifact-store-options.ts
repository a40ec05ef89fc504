/**
 * The artifact store's options (docs/architecture.md, "Conventions"): defaults documented, merged
 * once, validated, frozen.
 */
import * as path from "node:path";
import { InvalidConfigurationError, type ConfigurationProblem } from "../errors";
import type { MasterKey } from "./encryption/master-key";

export interface ArtifactStoreOptions {
	/** The directory the store owns: blobs under `sha256/`, uploads arriving under `tmp/`. Required; nodes use `<dataDir>/artifacts`. */
	root: string;
	/** The largest blob accepted, in bytes; a bigger upload fails with 413. Default 2 GiB (MODELFLEET_MAX_ARTIFACT_BYTES). */
	maxBytes: number;
	/** Unreferenced blobs last stored more recently than this survive GC. Default 1 hour (MODELFLEET_ARTIFACT_GC_GRACE_S). */
	gcGraceMs: number;
	/** A multipart upload that receives no part for this long is abandoned and its temp file deleted. Default 10 minutes. */
	uploadIdleTimeoutMs: number;
	/** An incoming stream that sends nothing for this long fails (a lost sender or lost packets); 0 waits forever. Default 60 s. */
	stallTimeoutMs: number;
	/** The clock. Default Date.now; tests pass a fake one. */
	now: () => number;
	/**
	 * The master key (MODELFLEET_ENCRYPTION_KEY): every new blob is sealed under it, and sealed
	 * blobs open only with it. Default null: new blobs are written plain (sealed ones do not open).
	 */
	encryptionKey: MasterKey | null;
}

export const DEFAULT_ARTIFACT_STORE_OPTIONS: Readonly<Omit<ArtifactStoreOptions, "root">> =
	Object.freeze({
		maxBytes: 2 * 1024 ** 3,
		gcGraceMs: 3600_000,
		uploadIdleTimeoutMs: 600_000,
		stallTimeoutMs: 60_000,
		now: Date.now,
		encryptionKey: null,
	});

/** Merges the defaults in, checks every field at once and freezes the result. */
export function resolveArtifactStoreOptions(
	options: Partial<ArtifactStoreOptions> & Pick<ArtifactStoreOptions, "root">,
): Readonly<ArtifactStoreOptions> {
	const merged: ArtifactStoreOptions = {
		...DEFAULT_ARTIFACT_STORE_OPTIONS,
		...options,
		root: options.root ? path.resolve(options.root) : "",
	};
	const problems: ConfigurationProblem[] = [];
	const check = (ok: boolean, setting: string, problem: string): void => {
		if (!ok) problems.push({ setting: `artifacts.${setting}`, problem });
	};
	check(merged.root !== "", "root", "a directory is required");
	check(
		Number.isSafeInteger(merged.maxBytes) && merged.maxBytes > 0,
		"maxBytes",
		`${merged.maxBytes} is not a positive whole number of bytes`,
	);
	for (const key of ["gcGraceMs", "stallTimeoutMs"] as const) {
		check(
			Number.isFinite(merged[key]) && merged[key] >= 0,
			key,
			`${merged[key]} is not a duration ≥ 0 ms`,
		);
	}
	check(
		Number.isFinite(merged.uploadIdleTimeoutMs) && merged.uploadIdleTimeoutMs > 0,
		"uploadIdleTimeoutMs",
		`${merged.uploadIdleTimeoutMs} is not a duration > 0 ms`,
	);
	if (problems.length > 0) throw new InvalidConfigurationError(problems);
	return Object.freeze(merged);
}
