import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { aggregateMetrics } from "../../../lib/metrics/metrics-aggregation";
import { SeriesCounter } from "../../../lib/metrics/series-metrics";

/** A registry as each serving thread has one, with `served` requests counted on it. */
async function threadRegistry(served: number, seconds: number[]) {
	const registry = new Registry();
	const counter = new Counter({
		name: "requests_total",
		help: "Requests.",
		labelNames: ["model"],
		registers: [registry],
	});
	counter.inc({ model: "mlp" }, served);
	const histogram = new Histogram({
		name: "request_seconds",
		help: "Request time.",
		buckets: [0.1, 1],
		registers: [registry],
	});
	for (const s of seconds) histogram.observe(s);
	new Gauge({ name: "loaded_models", help: "Models.", registers: [registry] }).set(1);
	return registry.getMetricsAsJSON();
}

describe("aggregateMetrics", () => {
	it("sums each series of counters, histograms and gauges over the threads' registries", async () => {
		const { body } = await aggregateMetrics([
			await threadRegistry(3, [0.05, 0.5]),
			await threadRegistry(4, [2]),
		]);
		expect(body).toContain('requests_total{model="mlp"} 7');
		expect(body).toContain('request_seconds_bucket{le="0.1"} 1');
		expect(body).toContain('request_seconds_bucket{le="1"} 2');
		expect(body).toContain('request_seconds_bucket{le="+Inf"} 3');
		expect(body).toContain("request_seconds_count 3");
		expect(body).toContain("loaded_models 2");
		expect(body.match(/^# TYPE requests_total counter$/gm)).toHaveLength(1);
	});

	it("keeps series that only one thread has, and sums metrics that name no aggregator", async () => {
		const a = await threadRegistry(1, []);
		const b = (await threadRegistry(1, [])).map(metric => ({
			...metric,
			aggregator: undefined as unknown as "sum",
		}));
		const registry = new Registry();
		new SeriesCounter({
			name: "only_here_total",
			help: "One thread's.",
			labelNames: ["node"],
			registry,
		})
			.handle("serving-1")
			.inc(5);
		const { body } = await aggregateMetrics([a, b, await registry.getMetricsAsJSON()]);
		expect(body).toContain('requests_total{model="mlp"} 2');
		expect(body).toContain('only_here_total{node="serving-1"} 5');
	});
});
