import {
	assertTransition,
	TRANSITIONS,
	VERSION_STATES,
	type VersionState,
} from "../../../lib/registry/lifecycle";

const ALLOWED: [VersionState, VersionState][] = [
	["Draft", "Training"],
	["Training", "Trained"],
	["Training", "Failed"],
	["Trained", "Validated"],
	["Validated", "Deployed"],
	["Deployed", "Retired"],
	["Deployed", "Validated"],
];

describe("version lifecycle", () => {
	it("allows exactly the documented moves", () => {
		const all = VERSION_STATES.flatMap(from => TRANSITIONS[from].map(to => [from, to]));
		expect(all).toEqual(ALLOWED);
	});

	it.each(VERSION_STATES.flatMap(from => VERSION_STATES.map(to => [from, to] as const)))(
		"%s → %s",
		(from, to) => {
			const allowed = ALLOWED.some(([f, t]) => f === from && t === to);
			if (allowed) {
				expect(() => assertTransition(from, to)).not.toThrow();
			} else {
				expect(() => assertTransition(from, to)).toThrow(
					expect.objectContaining({
						code: 409,
						type: "INVALID_TRANSITION",
						data: { from, to, allowed: [...TRANSITIONS[from]] },
					}),
				);
			}
		},
	);

	it("names the allowed moves, or says a state is final", () => {
		expect(() => assertTransition("Draft", "Deployed")).toThrow(
			/from Draft it may go to: Training/,
		);
		expect(() => assertTransition("Retired", "Deployed")).toThrow(/nothing \(final state\)/);
	});
});
