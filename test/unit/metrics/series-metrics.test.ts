import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { SeriesCounter, SeriesGauge, SeriesHistogram } from "../../../lib/metrics/series-metrics";

const LABELS = ["tenant", "model", "version", "traffic"] as const;
const BUCKETS = [0.0001, 0.001, 0.01, 0.1, 1, 10];

/** A reproducible stream of numbers in [0, 1) (mulberry32). */
function numbers(seed: number): () => number {
	let a = seed;
	return () => {
		a = (a + 0x6d2b79f5) | 0;
		let t = Math.imul(a ^ (a >>> 15), 1 | a);
		t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

/** prom-client's own metrics and ours, fed the same updates. */
function pair() {
	const theirs = new Registry();
	const ours = new Registry();
	const common = { labelNames: LABELS };
	return {
		theirs,
		ours,
		counter: [
			new Counter({ name: "c_total", help: "c", ...common, registers: [theirs] }),
			new SeriesCounter({ name: "c_total", help: "c", ...common, registry: ours }),
		] as const,
		gauge: [
			new Gauge({ name: "g", help: "g", ...common, registers: [theirs] }),
			new SeriesGauge({ name: "g", help: "g", ...common, registry: ours }),
		] as const,
		histogram: [
			new Histogram({
				name: "h_seconds",
				help: "h",
				...common,
				buckets: BUCKETS,
				registers: [theirs],
			}),
			new SeriesHistogram({
				name: "h_seconds",
				help: "h",
				...common,
				buckets: BUCKETS,
				registry: ours,
			}),
		] as const,
	};
}

describe("series metrics", () => {
	it("expose what prom-client's own metrics expose after the same 5000 updates", async () => {
		const m = pair();
		const next = numbers(42);
		const series = [
			["t1", "iris", "1", "live"],
			["t1", "iris", "2", "canary"],
			["t2", 'quo"te\\', "1", "shadow"],
		];
		for (let i = 0; i < 5000; i++) {
			const values = series[Math.floor(next() * series.length)];
			const labels = Object.fromEntries(LABELS.map((name, k) => [name, values[k]]));
			const amount = Math.floor(next() * 64);
			const seconds = next() ** 4 * 20; // some past the last bucket
			m.counter[0].inc(labels, amount);
			m.counter[1].handle(...values).inc(amount);
			m.gauge[0].set(labels, amount);
			m.gauge[1].handle(...values).set(amount);
			const times = 1 + (i % 3);
			for (let k = 0; k < times; k++) m.histogram[0].observe(labels, seconds);
			m.histogram[1].handle(...values).observeMany(seconds, times);
		}
		expect(await m.ours.metrics()).toEqual(await m.theirs.metrics());
		expect(await m.ours.getMetricsAsJSON()).toEqual(await m.theirs.getMetricsAsJSON());
		expect(await m.ours.metrics()).toMatch(/^h_seconds_bucket\{le="\+Inf",tenant="t1"/m);
	});

	it("export a series from its first update on, not when its handle is taken", async () => {
		const m = pair();
		const counter = m.counter[1].handle("t", "m", "1", "live");
		const histogram = m.histogram[1].handle("t", "m", "1", "live");
		expect(await m.ours.metrics()).not.toMatch(/\{/);
		counter.inc(0);
		histogram.observe(0.5);
		m.counter[0].inc({ tenant: "t", model: "m", version: "1", traffic: "live" }, 0);
		m.histogram[0].observe({ tenant: "t", model: "m", version: "1", traffic: "live" }, 0.5);
		expect(await m.ours.metrics()).toEqual(await m.theirs.metrics());
	});

	it("refuse what prom-client refuses: a counter going down, a value that is no number", () => {
		const m = pair();
		expect(() => m.counter[1].handle("t", "m", "1", "live").inc(-1)).toThrow(/counter/);
		expect(() => m.histogram[1].handle("t", "m", "1", "live").observe(NaN)).toThrow(/number/);
		expect(() => m.counter[1].handle("t", "m")).toThrow(/4 label values/);
	});
});
