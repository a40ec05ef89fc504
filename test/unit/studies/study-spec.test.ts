import { validateStudySpec } from "../../../lib/studies/study-spec";

const STUDY = {
	target: "iris",
	base: { dataset: "iris@1", labelColumn: "label", epochs: 8, seed: 3 },
	space: { learningRate: { type: "loguniform", min: 0.001, max: 0.1 } },
	objective: { metric: "val_accuracy" },
	budget: { trials: 4 },
	seed: 7,
};

describe("validateStudySpec", () => {
	it("reads an optional field sent as null as left out, nested ones too", () => {
		const withNulls = {
			...STUDY,
			name: null,
			objective: { metric: "val_accuracy", direction: null },
			budget: { trials: 4, totalEpochs: null, wallTimeMs: null },
			parallelism: null,
			searcher: null,
			promote: null,
			tags: null,
		};
		expect(validateStudySpec(withNulls)).toEqual(validateStudySpec(STUDY));
	});

	it("still refuses null for a required field", () => {
		expect(() => validateStudySpec({ ...STUDY, budget: { trials: null } })).toThrow(
			/budget\.trials/,
		);
	});
});
