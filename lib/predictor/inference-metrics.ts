/**
 * The predictor's Prometheus metrics, named after Triton's nv_inference_* family so that
 * dashboards carry over (Moleculer's reporter writes dots as underscores).
 */
import type { MetricRegistry } from "moleculer";
import type { BatchQueueHooks } from "../batching/batch-queue";
import type { ModelCacheHooks } from "../cache/model-cache-hooks";

export const INFERENCE_METRICS = {
	requestSuccess: "modelfleet.inference.request.success",
	requestFailure: "modelfleet.inference.request.failure",
	/** Rows inferred (Triton's nv_inference_count). */
	inferenceCount: "modelfleet.inference.count",
	/** Batches run (Triton's nv_inference_exec_count). */
	execCount: "modelfleet.inference.exec.count",
	queueDuration: "modelfleet.inference.queue.duration.ms",
	computeDuration: "modelfleet.inference.compute.duration.ms",
	requestDuration: "modelfleet.inference.request.duration.ms",
	batchSize: "modelfleet.inference.batch.size",
	pending: "modelfleet.inference.pending.request.count",
	cacheHits: "modelfleet.model.cache.hits",
	cacheMisses: "modelfleet.model.cache.misses",
	cacheHitRatio: "modelfleet.model.cache.hit.ratio",
	cacheLoads: "modelfleet.model.cache.loads",
	cacheLoadDuration: "modelfleet.model.cache.load.duration.ms",
	cacheEvictions: "modelfleet.model.cache.evictions",
	cacheBytes: "modelfleet.model.cache.bytes",
} as const;

/** The model label of requests for a model (or version) the caller's tenant does not have. */
export const UNKNOWN_MODEL_LABEL = "_unknown";
/** The model label of series past the node's cap (MODELFLEET_MAX_METRIC_SERIES). */
export const OVERFLOW_MODEL_LABEL = "_overflow";

/** The labels of a served version's series: whose model it is, and which. */
export interface ModelLabels {
	/** The tenant's id: two tenants' models of one name are separate series. */
	tenant: string;
	model: string;
	version: string;
}

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

const MS_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384, 65536];

export function registerInferenceMetrics(metrics: MetricRegistry): void {
	const byVersion = ["tenant", "model", "version"];
	const counter = (name: string, description: string, labelNames = byVersion) =>
		metrics.register({ type: "counter", name, description, labelNames });
	const histogram = (name: string, description: string, buckets: number[]) =>
		metrics.register({ type: "histogram", name, description, labelNames: byVersion, buckets });
	counter(INFERENCE_METRICS.requestSuccess, "Prediction requests that succeeded");
	counter(INFERENCE_METRICS.requestFailure, "Prediction requests that failed", [
		"tenant",
		"model",
		"version",
		"reason",
	]);
	counter(INFERENCE_METRICS.inferenceCount, "Rows inferred");
	counter(INFERENCE_METRICS.execCount, "Batches run");
	histogram(
		INFERENCE_METRICS.queueDuration,
		"Time requests waited in the batching queue (ms)",
		MS_BUCKETS,
	);
	histogram(INFERENCE_METRICS.computeDuration, "Time batches took to run (ms)", MS_BUCKETS);
	histogram(
		INFERENCE_METRICS.requestDuration,
		"End-to-end time of prediction requests on the node (ms)",
		MS_BUCKETS,
	);
	histogram(INFERENCE_METRICS.batchSize, "Rows per batch run", BATCH_BUCKETS);
	metrics.register({
		type: "gauge",
		name: INFERENCE_METRICS.pending,
		description: "Requests waiting in batching queues",
		labelNames: byVersion,
	});
	counter(INFERENCE_METRICS.cacheHits, "Model cache hits", []);
	counter(INFERENCE_METRICS.cacheMisses, "Model cache misses", []);
	counter(INFERENCE_METRICS.cacheLoads, "Model loads", []);
	counter(INFERENCE_METRICS.cacheEvictions, "Models evicted", ["reason"]);
	metrics.register({
		type: "histogram",
		name: INFERENCE_METRICS.cacheLoadDuration,
		description: "Model load time (ms)",
		buckets: MS_BUCKETS,
	});
	metrics.register({
		type: "gauge",
		name: INFERENCE_METRICS.cacheHitRatio,
		description: "Model cache hit ratio since start",
	});
	metrics.register({
		type: "gauge",
		name: INFERENCE_METRICS.cacheBytes,
		description: "Bytes of loaded models",
	});
}

/** Batching hooks that feed the metrics of one served version. */
export function queueMetricHooks(
	metrics: MetricRegistry,
	tenant: string,
	model: string,
	version: string,
	cap?: MetricSeriesCap,
): BatchQueueHooks {
	const labels = cap ? cap.labels(tenant, model, version) : { tenant, model, version };
	return {
		requestDequeued: e => metrics.observe(INFERENCE_METRICS.queueDuration, e.queueMs, labels),
		batchCompleted: e => {
			metrics.increment(INFERENCE_METRICS.execCount, labels);
			metrics.observe(INFERENCE_METRICS.computeDuration, e.computeMs, labels);
			metrics.observe(INFERENCE_METRICS.batchSize, e.rows, labels);
		},
		pendingChanged: e => metrics.set(INFERENCE_METRICS.pending, e.requests, labels),
	};
}

/** Cache hooks that feed the cache metrics, plus what the caller wants to hear (events). */
export function cacheMetricHooks(
	metrics: MetricRegistry,
	also: ModelCacheHooks = {},
): ModelCacheHooks {
	return {
		loaded: e => {
			metrics.increment(INFERENCE_METRICS.cacheLoads);
			metrics.observe(INFERENCE_METRICS.cacheLoadDuration, e.ms);
			also.loaded?.(e);
		},
		evicted: e => {
			metrics.increment(INFERENCE_METRICS.cacheEvictions, { reason: e.reason });
			also.evicted?.(e);
		},
		loadFailed: e => also.loadFailed?.(e),
		disposeFailed: e => also.disposeFailed?.(e),
	};
}
