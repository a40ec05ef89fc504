import * as semver from "semver";
import { InvalidInputError } from "../errors";

export const VERSION_BUMPS = ["major", "minor", "patch"] as const;
export type VersionBump = (typeof VERSION_BUMPS)[number];

/** A semantic version in its canonical form ("v1.2" is not accepted: versions are exact). */
export function parseVersion(text: string): string {
	const parsed = semver.valid(text);
	if (parsed === null || parsed !== text) {
		throw new InvalidInputError(
			`'${text}' is not a semantic version such as 1.0.0 or 2.1.0-rc.1; or leave it out and ask for bump: major, minor or patch.`,
			{ field: "version" },
		);
	}
	return parsed;
}

/** The next version after the highest existing one; 0.1.0 for minor/patch of a first version, 1.0.0 for major. */
export function nextVersion(existing: readonly string[], bump: VersionBump): string {
	const sorted = existing.filter(v => semver.valid(v) !== null).sort(semver.rcompare);
	if (sorted.length === 0) return bump === "major" ? "1.0.0" : "0.1.0";
	// A pre-release 2.0.0-rc.1 bumped by patch gives 2.0.0, as semver says.
	return semver.inc(sorted[0], bump) as string;
}

/** Highest first, by semver precedence. */
export function compareVersionsDescending(a: string, b: string): number {
	return semver.rcompare(a, b);
}
