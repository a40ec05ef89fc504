import {
	MetricSeriesCap,
	OVERFLOW_MODEL_LABEL,
	UNKNOWN_MODEL_LABEL,
} from "../../../lib/predictor/inference-metrics";

describe("MetricSeriesCap", () => {
	it("keeps label sets up to the cap, then counts later ones under the tenant's overflow set", () => {
		const cap = new MetricSeriesCap(2);
		expect(cap.labels("t1", "a", "1.0.0")).toEqual({
			tenant: "t1",
			model: "a",
			version: "1.0.0",
		});
		expect(cap.labels("t1", "b", "1.0.0")).toEqual({
			tenant: "t1",
			model: "b",
			version: "1.0.0",
		});
		expect(cap.labels("t1", "c", "1.0.0")).toEqual({
			tenant: "t1",
			model: OVERFLOW_MODEL_LABEL,
			version: "",
		});
		// Sets already kept stay as they are.
		expect(cap.labels("t1", "a", "1.0.0")).toEqual({
			tenant: "t1",
			model: "a",
			version: "1.0.0",
		});
		expect(cap.size).toBe(2);
	});

	it("tells tenants and versions apart, and does not confuse a name with a split of another", () => {
		const cap = new MetricSeriesCap(10);
		cap.labels("t1", "a", "1");
		cap.labels("t1", "a", "2");
		cap.labels("t1", "a1", "");
		cap.labels("t2", "a", "1");
		expect(cap.size).toBe(4);
		expect(cap.labels("t2", "a", "1")).not.toEqual(cap.labels("t1", "a", "1"));
	});

	it("counts failures for unknown models under one set per tenant, whatever the name", () => {
		const cap = new MetricSeriesCap(3);
		for (let i = 0; i < 60_000; i++)
			expect(cap.failureLabels("t1", `nope-${i}`, "", "NOT_FOUND")).toEqual({
				tenant: "t1",
				model: UNKNOWN_MODEL_LABEL,
				version: "",
			});
		expect(cap.size).toBe(0);
		expect(cap.failureLabels("t1", "mlp", "1.0.0", "INVALID_INPUT")).toEqual({
			tenant: "t1",
			model: "mlp",
			version: "1.0.0",
		});
	});
});
