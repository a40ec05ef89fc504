import * as semver from "semver";

/** How a request names a version: an exact semantic version, an alias, or the latest. */
export type VersionSelector =
	{ kind: "version"; version: string } | { kind: "alias"; alias: string } | { kind: "latest" };

export interface VersionRef {
	model: string;
	selector: VersionSelector;
}

/** "1.2.0" → that version; "latest" → the highest; anything else → an alias. */
export function parseSelector(text: string): VersionSelector {
	if (text === "latest") return { kind: "latest" };
	if (semver.valid(text) === text) return { kind: "version", version: text };
	return { kind: "alias", alias: text };
}

/**
 * Reads a reference as clients write it: `model` alone, `model@champion`, `model@1.2.0`, or
 * `model` with a separate `version` (which wins over the `@` part). No version means latest.
 */
export function parseVersionRef(model: string, version?: string): VersionRef {
	const at = model.indexOf("@");
	const name = at >= 0 ? model.slice(0, at) : model;
	const fromName = at >= 0 ? model.slice(at + 1) : undefined;
	const selectorText = version ?? fromName;
	return {
		model: name,
		selector: selectorText ? parseSelector(selectorText) : { kind: "latest" },
	};
}

export function formatRef(model: string, version: string): string {
	return `${model}@${version}`;
}
