import {
	MetricSeriesCap,
	OVERFLOW_MODEL_LABEL,
	UNKNOWN_MODEL_LABEL,
} from "../../../lib/predictor/inference-metrics";

describe("MetricSeriesCap", () => {
	it("keeps label sets up to the cap, then counts later ones under one overflow set", () => {
		const cap = new MetricSeriesCap(2);
		expect(cap.labels("a", "1.0.0")).toEqual({ model: "a", version: "1.0.0" });
		expect(cap.labels("b", "1.0.0")).toEqual({ model: "b", version: "1.0.0" });
		expect(cap.labels("c", "1.0.0")).toEqual({ model: OVERFLOW_MODEL_LABEL, version: "" });
		// Sets already kept stay as they are.
		expect(cap.labels("a", "1.0.0")).toEqual({ model: "a", version: "1.0.0" });
		expect(cap.size).toBe(2);
	});

	it("tells versions apart, and does not confuse a name with a split of another", () => {
		const cap = new MetricSeriesCap(10);
		cap.labels("a", "1");
		cap.labels("a", "2");
		cap.labels("a1", "");
		expect(cap.size).toBe(3);
	});

	it("counts failures for unknown models under one set, whatever the name", () => {
		const cap = new MetricSeriesCap(3);
		for (let i = 0; i < 60_000; i++)
			expect(cap.failureLabels(`nope-${i}`, "", "NOT_FOUND")).toEqual({
				model: UNKNOWN_MODEL_LABEL,
				version: "",
			});
		expect(cap.size).toBe(0);
		expect(cap.failureLabels("mlp", "1.0.0", "INVALID_INPUT")).toEqual({
			model: "mlp",
			version: "1.0.0",
		});
	});
});
