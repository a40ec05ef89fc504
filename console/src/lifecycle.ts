/**
 * The moves between version states the registry allows (lib/registry/lifecycle.ts, which
 * the browser cannot import: it throws the server's errors). A unit test keeps the two equal.
 */
export const TRANSITIONS: Readonly<Record<string, readonly string[]>> = {
	Draft: ["Training"],
	Training: ["Trained", "Failed"],
	Trained: ["Validated"],
	Validated: ["Deployed"],
	Deployed: ["Retired", "Validated"],
	Retired: [],
	Failed: [],
};

/** The states a model file may be uploaded in (the registry's INITIAL_STATES). */
export const UPLOAD_STATES = ["Draft", "Trained", "Validated"] as const;
