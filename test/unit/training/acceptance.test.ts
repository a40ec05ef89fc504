import { checkAcceptance } from "../../../lib/training/acceptance";

describe("checkAcceptance", () => {
	it("passes when every threshold holds", () => {
		expect(
			checkAcceptance(
				{ accuracy: { min: 0.9 }, mae: { max: 1 } },
				{ accuracy: 0.95, mae: 0.5 },
			),
		).toEqual({ passed: true, failures: [] });
	});

	it("lists each failed threshold with its value, a metric it could not compute as null", () => {
		const result = checkAcceptance(
			{ accuracy: { min: 0.9 }, f1: { min: 0.5, max: 0.8 }, auc: { min: 0.5 } },
			{ accuracy: 0.85, f1: 0.9, auc: null },
		);
		expect(result.passed).toBe(false);
		expect(result.failures).toEqual([
			{ metric: "accuracy", value: 0.85, threshold: { min: 0.9 } },
			{ metric: "f1", value: 0.9, threshold: { min: 0.5, max: 0.8 } },
			{ metric: "auc", value: null, threshold: { min: 0.5 } },
		]);
	});
});
