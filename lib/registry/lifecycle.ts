import { InvalidTransitionError } from "../errors";

/** The states of a model version; the moves between them are in TRANSITIONS below. */
export const VERSION_STATES = [
	"Draft",
	"Training",
	"Trained",
	"Validated",
	"Deployed",
	"Retired",
	"Failed",
] as const;
export type VersionState = (typeof VERSION_STATES)[number];

/** Where each state may go. Anything else is refused with 409. */
export const TRANSITIONS: Readonly<Record<VersionState, readonly VersionState[]>> = {
	Draft: ["Training"],
	Training: ["Trained", "Failed"],
	Trained: ["Validated"],
	Validated: ["Deployed"],
	// Undeploying the last deployment of a version moves it back to Validated (scheduler).
	Deployed: ["Retired", "Validated"],
	Retired: [],
	Failed: [],
};

/** States a version may be created in: Draft by default; Trained/Validated for imported, already-trained files. */
export const INITIAL_STATES: readonly VersionState[] = ["Draft", "Trained", "Validated"];

/** Throws INVALID_TRANSITION (409) naming the allowed next states unless `from → to` is allowed. */
export function assertTransition(from: VersionState, to: VersionState): void {
	if (!TRANSITIONS[from].includes(to))
		throw new InvalidTransitionError(from, to, TRANSITIONS[from]);
}
