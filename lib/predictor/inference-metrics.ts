/**
 * Feeds the predictor's Prometheus metrics (lib/metrics/node-metrics.ts, Triton's
 * nv_inference_* family under the modelfleet_ prefix) from the batching, cache and serving
 * hooks, with the per-model series kept bounded.
 */
import type { BatchQueueHooks } from "../batching/batch-queue";
import type { ModelCacheHooks } from "../cache/model-cache-hooks";
import type { NodeMetrics, TrafficKind } from "../metrics/node-metrics";
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

/** Batching hooks that feed the metrics of one served version. */
export function queueMetricHooks(
	metrics: NodeMetrics,
	tenant: string,
	model: string,
	version: string,
	cap?: MetricSeriesCap,
): BatchQueueHooks {
	const labels = cap ? cap.labels(tenant, model, version) : { tenant, model, version };
	return {
		requestDequeued: e => metrics.queueDuration.observe(labels, e.queueMs / 1000),
		batchCompleted: e => {
			if (e.failed) return;
			metrics.execCount.inc(labels);
			metrics.batchSize.observe(labels, e.rows);
			// Triton counts a batch's run once for each request in it.
			for (let i = 0; i < e.requests; i++)
				metrics.computeInferDuration.observe(labels, e.computeMs / 1000);
		},
		pendingChanged: e => metrics.pendingRequests.set(labels, e.requests),
	};
}

/** The serving hook: a request's input and output preparation times, per version. */
export function servedMetricHook(
	metrics: NodeMetrics,
	cap: MetricSeriesCap,
): (event: ServedEvent) => void {
	return e => {
		if (!e.ok) return;
		const labels = cap.labels(e.tenant, e.model, e.version);
		metrics.computeInputDuration.observe(labels, e.timing.inputMs / 1000);
		metrics.computeOutputDuration.observe(labels, e.timing.outputMs / 1000);
	};
}

/** What the predictor's infer action counts at a request's end. */
export function countRequest(
	metrics: NodeMetrics,
	labels: ModelLabels,
	traffic: TrafficKind,
	outcome: { ok: true; rows: number; ms: number } | { ok: false; reason: string },
): void {
	const withTraffic = { ...labels, traffic };
	if (outcome.ok) {
		metrics.requestSuccess.inc(withTraffic);
		metrics.inferenceCount.inc(withTraffic, outcome.rows);
		metrics.requestDuration.observe(withTraffic, outcome.ms / 1000);
	} else metrics.requestFailure.inc({ ...withTraffic, reason: outcome.reason });
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
