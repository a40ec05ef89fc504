/**
 * Feeds the predictor's Prometheus metrics (lib/metrics/node-metrics.ts, Triton's
 * nv_inference_* family under the modelfleet_ prefix) from the batching, cache and serving
 * hooks, with the per-model series kept bounded.
 */
import type { BatchQueueHooks } from "../batching/batch-queue";
import type { ModelCacheHooks } from "../cache/model-cache-hooks";
import type { NodeMetrics, TrafficKind } from "../metrics/node-metrics";
import type { CounterSeries, HistogramSeries } from "../metrics/series-metrics";
import type { ServedEvent } from "./predictor";

/** The model label of requests for a model (or version) the caller's tenant does not have. */
export const UNKNOWN_MODEL_LABEL = "_unknown";
/** The model label of series past the node's cap (MODELFLEET_MAX_METRIC_SERIES). */
export const OVERFLOW_MODEL_LABEL = "_overflow";

/** The labels of a served version's series: whose model it is, and which. */
export type ModelLabels = {
	/** The tenant's id: two tenants' models of one name are separate series. */
	tenant: string;
	model: string;
	version: string;
};

/**
 * Keeps the per-model series of a node's metrics bounded: the first `maxSeries` model/version
 * label sets are kept as they are, any later one is counted under one overflow set; requests
 * for unknown models all share one set. Callers' model names are theirs to choose, and every
 * label set is a series Prometheus stores for ever.
 */
export class MetricSeriesCap {
	private readonly seen = new Set<string>();

	constructor(readonly maxSeries: number) {}

	/**
	 * The labels to count under: these, or the tenant's overflow set once the cap is reached
	 * (tenants are few and made by an admin; model names are the tenants' to choose).
	 */
	labels(tenant: string, model: string, version: string): ModelLabels {
		const key = `${tenant}\u0000${model}\u0000${version}`;
		if (this.seen.has(key)) return { tenant, model, version };
		if (this.seen.size >= this.maxSeries)
			return { tenant, model: OVERFLOW_MODEL_LABEL, version: "" };
		this.seen.add(key);
		return { tenant, model, version };
	}

	/** The labels of a failed request: unknown models (NOT_FOUND) under one set, else as `labels`. */
	failureLabels(tenant: string, model: string, version: string, errorType: string): ModelLabels {
		if (errorType === "NOT_FOUND") return { tenant, model: UNKNOWN_MODEL_LABEL, version: "" };
		return this.labels(tenant, model, version);
	}

	/** Label sets kept so far (the overflow and unknown sets not counted). */
	get size(): number {
		return this.seen.size;
	}
}

/** Batching hooks that feed the metrics of one served version (its series taken once). */
export function queueMetricHooks(
	metrics: NodeMetrics,
	tenant: string,
	model: string,
	version: string,
	cap?: MetricSeriesCap,
): BatchQueueHooks {
	const l = cap ? cap.labels(tenant, model, version) : { tenant, model, version };
	const queue = metrics.queueDuration.handle(l.tenant, l.model, l.version);
	const runs = metrics.execCount.handle(l.tenant, l.model, l.version);
	const rows = metrics.batchSize.handle(l.tenant, l.model, l.version);
	const infer = metrics.computeInferDuration.handle(l.tenant, l.model, l.version);
	const pending = metrics.pendingRequests.handle(l.tenant, l.model, l.version);
	return {
		requestDequeued: e => queue.observe(e.queueMs / 1000),
		batchCompleted: e => {
			if (e.failed) return;
			runs.inc();
			rows.observe(e.rows);
			// Triton counts a batch's run once for each request in it.
			if (e.requests > 0) infer.observeMany(e.computeMs / 1000, e.requests);
		},
		pendingChanged: e => pending.set(e.requests),
	};
}

/**
 * The predictor's per-request series, their handles kept by label values: a request counts
 * into numbers, not through a label lookup per update. Only series within the cap are kept
 * (the overflow set's names are the callers' to choose, so they are looked up each time).
 */
export class InferenceSeries {
	private readonly requests = new Map<
		string,
		{ success: CounterSeries; rows: CounterSeries; duration: HistogramSeries }
	>();
	private readonly served = new Map<
		string,
		{ input: HistogramSeries; output: HistogramSeries }
	>();

	constructor(
		private readonly metrics: NodeMetrics,
		private readonly cap: MetricSeriesCap,
	) {}

	/** A request that succeeded: its rows and end-to-end time. */
	succeeded(
		tenant: string,
		model: string,
		version: string,
		traffic: TrafficKind,
		rows: number,
		ms: number,
	): void {
		const key = `${tenant}\u0000${model}\u0000${version}\u0000${traffic}`;
		let series = this.requests.get(key);
		if (series === undefined) {
			const l = this.cap.labels(tenant, model, version);
			const m = this.metrics;
			series = {
				success: m.requestSuccess.handle(l.tenant, l.model, l.version, traffic),
				rows: m.inferenceCount.handle(l.tenant, l.model, l.version, traffic),
				duration: m.requestDuration.handle(l.tenant, l.model, l.version, traffic),
			};
			if (l.model === model && l.version === version) this.requests.set(key, series);
		}
		series.success.inc();
		series.rows.inc(rows);
		series.duration.observe(ms / 1000);
	}

	/** A request that failed, by error type (unknown models under one set). */
	failed(
		tenant: string,
		model: string,
		version: string,
		traffic: TrafficKind,
		reason: string,
	): void {
		const l = this.cap.failureLabels(tenant, model, version, reason);
		this.metrics.requestFailure.handle(l.tenant, l.model, l.version, traffic, reason).inc();
	}

	/** The serving hook: a request's input and output preparation times, per version. */
	readonly servedHook = (e: ServedEvent): void => {
		if (!e.ok) return;
		const key = `${e.tenant}\u0000${e.model}\u0000${e.version}`;
		let series = this.served.get(key);
		if (series === undefined) {
			const l = this.cap.labels(e.tenant, e.model, e.version);
			series = {
				input: this.metrics.computeInputDuration.handle(l.tenant, l.model, l.version),
				output: this.metrics.computeOutputDuration.handle(l.tenant, l.model, l.version),
			};
			if (l.model === e.model && l.version === e.version) this.served.set(key, series);
		}
		series.input.observe(e.timing.inputMs / 1000);
		series.output.observe(e.timing.outputMs / 1000);
	};
}

/** Cache hooks that feed the cache metrics, plus what the caller wants to hear (events). */
export function cacheMetricHooks(
	metrics: NodeMetrics,
	also: ModelCacheHooks = {},
): ModelCacheHooks {
	return {
		loaded: e => {
			metrics.cacheLoads.inc();
			metrics.cacheLoadDuration.observe(e.ms / 1000);
			also.loaded?.(e);
		},
		evicted: e => {
			metrics.cacheEvictions.inc({ reason: e.reason });
			also.evicted?.(e);
		},
		loadFailed: e => also.loadFailed?.(e),
		disposeFailed: e => also.disposeFailed?.(e),
	};
}
