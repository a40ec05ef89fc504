/**
 * Labelled counters, gauges and histograms for the predict path, with a handle per series: the
 * caller looks a series up once (by its label values) and then counts into plain numbers.
 * prom-client's own metrics check, hash and copy their labels on every update (≈ 10 updates a
 * request cost ≈ 3 % of a batch-1 request's CPU, bench/RESULTS.md §14); these are registered in
 * the same prom-client registry and hand it the same values at scrape time, so the exposition
 * (names, labels, values, order of series) is the one prom-client's own would give.
 */
import type { Registry } from "prom-client";

type Labels = Record<string, string>;

/** What prom-client's registry reads of a metric (its `get`/`getForPromString` shapes). */
type ExportedValue = {
	value: number;
	labels: Record<string, string | number>;
	metricName?: string;
	sharedLabels?: Labels;
	/** prom-client's buckets carry one (null without exemplars): kept for `getMetricsAsJSON`. */
	exemplar?: null;
};
type Exported = {
	name: string;
	help: string;
	type: "counter" | "gauge" | "histogram";
	values: ExportedValue[];
	aggregator: "sum";
};

type SeriesConfig = {
	name: string;
	help: string;
	labelNames: readonly string[];
	registry: Registry;
};

/** The key of a series: its label values, in the metric's label order. */
function keyOf(values: readonly string[]): string {
	return values.length === 1 ? values[0] : values.join("\u0000");
}

/** A series' labels as prom-client keeps them: in the metric's label order. */
function labelsOf(names: readonly string[], values: readonly string[]): Labels {
	if (names.length !== values.length)
		throw new Error(`Expected ${names.length} label values (${names.join(", ")}).`);
	const labels: Labels = {};
	for (let i = 0; i < names.length; i++) labels[names[i]] = values[i];
	return labels;
}

/** The series of one metric, made on first use, in the order they were first taken. */
abstract class SeriesMetric<S extends { readonly labels: Labels; used: boolean }> {
	readonly name: string;
	readonly help: string;
	readonly labelNames: readonly string[];
	readonly aggregator = "sum" as const;
	abstract readonly type: Exported["type"];
	protected series = new Map<string, S>();

	constructor(config: SeriesConfig) {
		this.name = config.name;
		this.help = config.help;
		this.labelNames = config.labelNames;
		// The registry reads any object with prom-client's `get` shape; its types list its own classes.
		config.registry.registerMetric(
			this as unknown as Parameters<Registry["registerMetric"]>[0],
		);
	}

	protected abstract make(labels: Labels): S;
	protected abstract exported(): ExportedValue[];

	/**
	 * The handle of the series with these label values (in `labelNames` order). A series is
	 * exported from its first update on, as prom-client's are (a handle taken is no sample yet).
	 */
	handle(...values: string[]): S {
		const key = keyOf(values);
		let series = this.series.get(key);
		if (series === undefined) {
			series = this.make(labelsOf(this.labelNames, values));
			this.series.set(key, series);
		}
		return series;
	}

	/** The series updated at least once, in the order they were first taken. */
	protected updatedSeries(): S[] {
		return [...this.series.values()].filter(s => s.used);
	}

	/** Forgets every series (as prom-client's `reset`); handles taken before count nowhere. */
	reset(): void {
		this.series = new Map();
	}

	/** As prom-client's `get`: a histogram's series labels merged into each value's. */
	async get(): Promise<Exported> {
		const exported = await this.getForPromString();
		exported.values = exported.values.map(({ sharedLabels, ...value }) =>
			sharedLabels ? { ...value, labels: { ...value.labels, ...sharedLabels } } : value,
		);
		return exported;
	}

	async getForPromString(): Promise<Exported> {
		return {
			name: this.name,
			help: this.help,
			type: this.type,
			values: this.exported(),
			aggregator: this.aggregator,
		};
	}
}

/** One counter series: a number that only goes up. */
export class CounterSeries {
	value = 0;
	used = false;
	constructor(readonly labels: Labels) {}
	inc(by = 1): void {
		if (!(by >= 0) || !Number.isFinite(by))
			throw new Error(`A counter goes up by a finite number ≥ 0, not ${by}.`);
		this.value += by;
		this.used = true;
	}
}

export class SeriesCounter extends SeriesMetric<CounterSeries> {
	readonly type = "counter" as const;
	protected make(labels: Labels): CounterSeries {
		return new CounterSeries(labels);
	}
	protected exported(): ExportedValue[] {
		return this.updatedSeries().map(s => ({ value: s.value, labels: s.labels }));
	}
}

/** One gauge series: a number set to what it is now. */
export class GaugeSeries {
	value = 0;
	used = false;
	constructor(readonly labels: Labels) {}
	set(value: number): void {
		this.value = value;
		this.used = true;
	}
}

export class SeriesGauge extends SeriesMetric<GaugeSeries> {
	readonly type = "gauge" as const;
	protected make(labels: Labels): GaugeSeries {
		return new GaugeSeries(labels);
	}
	protected exported(): ExportedValue[] {
		return this.updatedSeries().map(s => ({ value: s.value, labels: s.labels }));
	}
}

/** One histogram series: counts per bucket (not cumulated), their sum and count. */
export class HistogramSeries {
	readonly counts: Float64Array;
	sum = 0;
	count = 0;
	used = false;
	constructor(
		readonly labels: Labels,
		private readonly bounds: readonly number[],
	) {
		this.counts = new Float64Array(bounds.length);
	}

	observe(value: number): void {
		this.observeMany(value, 1);
	}

	/** `times` observations of one value (Triton counts a batch's run once per request in it). */
	observeMany(value: number, times: number): void {
		if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
		const bounds = this.bounds;
		for (let i = 0; i < bounds.length; i++)
			if (value <= bounds[i]) {
				this.counts[i] += times;
				break;
			}
		// Added one by one, as `times` observations would be (a product rounds differently).
		for (let i = 0; i < times; i++) this.sum += value;
		this.count += times;
		this.used = true;
	}
}

export class SeriesHistogram extends SeriesMetric<HistogramSeries> {
	readonly type = "histogram" as const;
	readonly buckets: readonly number[];

	constructor(config: SeriesConfig & { buckets: readonly number[] }) {
		super(config);
		this.buckets = [...config.buckets].sort((a, b) => a - b);
	}

	protected make(labels: Labels): HistogramSeries {
		return new HistogramSeries(labels, this.buckets);
	}

	/** As prom-client's: cumulative `_bucket` lines, `+Inf`, then `_sum` and `_count`, per series. */
	protected exported(): ExportedValue[] {
		const bucket = `${this.name}_bucket`;
		const values: ExportedValue[] = [];
		for (const s of this.updatedSeries()) {
			let cumulated = 0;
			for (let i = 0; i < this.buckets.length; i++) {
				cumulated += s.counts[i];
				values.push({
					labels: { le: this.buckets[i] },
					sharedLabels: s.labels,
					value: cumulated,
					metricName: bucket,
					exemplar: null,
				});
			}
			values.push(
				{
					labels: { le: "+Inf" },
					sharedLabels: s.labels,
					value: s.count,
					metricName: bucket,
					exemplar: null,
				},
				{
					labels: {},
					sharedLabels: s.labels,
					value: s.sum,
					metricName: `${this.name}_sum`,
				},
				{
					labels: {},
					sharedLabels: s.labels,
					value: s.count,
					metricName: `${this.name}_count`,
				},
			);
		}
		return values;
	}
}
