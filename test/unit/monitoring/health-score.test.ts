import { healthScore, percentile } from "../../../lib/monitoring/health-score";

describe("healthScore", () => {
	it("is 100 for a deployment with no failures, within its SLO, without drift or degradation", () => {
		const h = healthScore({
			requests: { total: 1000, failed: 0 },
			latency: { p95Ms: 10, sloMs: 50 },
			drift: { driftedShare: 0, status: "ok" },
			accuracy: { worstDrop: -0.01, degraded: false },
		});
		expect(h.score).toBe(100);
		expect(h.status).toBe("healthy");
		expect(h.parts.map(p => p.name)).toEqual(["errors", "latency", "drift", "accuracy"]);
	});

	it("weighs the known parts only and falls with errors, latency, drift and accuracy", () => {
		expect(
			healthScore({ requests: null, latency: null, drift: null, accuracy: null }).score,
		).toBe(100);
		// Errors alone known: 2.5 % failed is half way to the 5 % that scores 0.
		expect(
			healthScore({
				requests: { total: 1000, failed: 25 },
				latency: null,
				drift: null,
				accuracy: null,
			}).score,
		).toBe(50);
		// p95 at 1.5× the SLO scores 50.
		expect(
			healthScore({
				requests: null,
				latency: { p95Ms: 75, sloMs: 50 },
				drift: null,
				accuracy: null,
			}).score,
		).toBe(50);
		const drifting = healthScore({
			requests: { total: 100, failed: 0 },
			latency: null,
			drift: { driftedShare: 0.5, status: "drift" },
			accuracy: { worstDrop: 0.2, degraded: true },
		});
		// errors 100 × 0.3, drift 25 × 0.25, accuracy 0 × 0.25, over 0.8.
		expect(drifting.score).toBe(Math.round((30 + 6.25) / 0.8));
		expect(drifting.status).toBe("unhealthy");
	});

	it("takes the nearest-rank percentile", () => {
		expect(percentile([5, 1, 4, 2, 3], 95)).toBe(5);
		expect(percentile([5, 1, 4, 2, 3], 50)).toBe(3);
		expect(percentile([], 50)).toBeNaN();
	});
});
