/**
 * predictor — serves predictions on this node (workers, all-in-one): resolves the version
 * for the caller's tenant, keeps it loaded in the LRU model cache, and runs requests through
 * its validator, pipelines and batching queue; the XGBoost walker, TF.js and large ONNX
 * batches run in a piscina pool off the event loop.
 */
import type { Context, Service, ServiceSchema } from "moleculer";
import { Errors } from "moleculer";
import { requires, scopeOf } from "../lib/accounts/access";
import type { LocalBlobs, LocalBlobsOptions } from "../lib/artifacts/local-blobs";
import type { BatchingOptions } from "../lib/batching/batching-options";
import type { ArchiveLimits } from "../lib/files/tar-files";
import { EVENTS, type EventPayloads } from "../lib/events";
import type { Settled } from "../lib/fleet/call-coalescer";
import { answeredAsJson } from "../lib/http/json-answer";
import { SERVICE } from "../lib/fleet/node-role";
import type { RequestLimits } from "../lib/inference/request-limits";
import { nodeMetricsOf } from "../lib/metrics/node-metrics";
import {
	MetricSeriesCap,
	InferenceSeries,
	cacheMetricHooks,
	queueMetricHooks,
} from "../lib/predictor/inference-metrics";
import {
	ModelStatistics,
	countServed,
	countingQueueHooks,
} from "../lib/predictor/model-statistics";
import {
	Predictor,
	registryOutageMessage,
	type BatchingOverride,
	type PredictorDeps,
} from "../lib/predictor/predictor";
import { SERVING_RULE } from "../lib/model-spec/version-spec";
import type { InferResult } from "../lib/predictor/served-model";
import type { VersionView } from "../lib/registry/version-store";
import { MODEL_REPLICA_STRATEGY } from "../lib/routing/model-replica-strategy";
import { trafficKindOf } from "../lib/routing/traffic-middleware";
import { RuntimePool } from "../lib/runtimes/pool/runtime-pool";

import { domainEventsMixin, type DomainEventMethods } from "../mixins/domain-events.mixin";
import { captureMixin, type CaptureMethods } from "../mixins/predictor/capture.mixin";
import { localBlobsMixin, type LocalBlobsService } from "../mixins/local-blobs.mixin";
import { MODEL_REF_RULE, type Ctx } from "../mixins/params";
import { meteredVersion, predictionMeterMixin } from "../mixins/prediction-meter.mixin";
import { explainMixin } from "../mixins/predictor/explain.mixin";
import { FORWARDED_JSON, forwardedJson, parseForwardedRequest } from "../lib/http/infer-request";
import { withoutModel } from "../lib/routing/infer-coalescing";
import { importanceMixin } from "../mixins/predictor/importance.mixin";
import { statisticsMixin } from "../mixins/predictor/statistics.mixin";
import type { PredictorParts } from "../mixins/predictor/predictor-parts";

export interface PredictorServiceOptions {
	dataDir: string;
	/** Interval of the durable prediction summaries (prediction.summary), ms; default 60 000. */
	predictionSummaryMs?: number;
	/** Encryption at rest of the blobs this node reads (its key, where decrypted copies go). Default none. */
	blobs?: LocalBlobsOptions;
	cacheBytes: number;
	poolThreads: number;
	limits: RequestLimits;
	batching?: Partial<BatchingOptions>;
	/** ONNX batches with at least this many rows run in the pool. Default 4096. */
	poolMinRows?: number;
	/** Best first; "cuda" only where the node has a GPU and the onnxruntime build has the provider. */
	executionProviders: readonly string[];
	/** Request timeout used as the deadline of queued requests when the call sets none, ms. */
	defaultTimeoutMs: number;
	/** Deepest nesting of a request forwarded as its JSON text (MODELFLEET_MAX_JSON_DEPTH). */
	maxJsonDepth?: number;
	/** How far a model archive (TF.js tar) may unpack on load; default DEFAULT_ARCHIVE_LIMITS. */
	archiveLimits?: ArchiveLimits;
	/** Most model/version label sets of the inference metrics; default 1000. */
	maxMetricSeries?: number;
	/** How often usage counts are flushed to accounts, ms; default 10 000. */
	usageFlushMs?: number;
	/** MODELFLEET_CONTROL_OUTAGE_S, ms: see PredictorOptions. */
	controlOutageMs?: number;
	/** How often captured predictions are flushed to the scheduler, ms; default 1000. */
	captureFlushMs?: number;
	/** Captured predictions buffered before new ones are dropped; default 10 000. */
	captureBuffer?: number;
}

interface InferParams {
	model: string;
	version?: string;
	[field: string]: unknown;
}

interface InferManyParams {
	model: string;
	version?: string;
	requests: Array<Record<string, unknown>>;
}

export function predictorService(options: PredictorServiceOptions): ServiceSchema {
	// Long because it is a service schema (a declaration, not a procedure): the infer, load,
	// unload and stats actions and the start/stop hooks, each short, sharing the predictor and
	// its runtime pool (explain, importance and statistics are its mixins').
	let predictor: Predictor;
	let pool: RuntimePool;
	let blobs: LocalBlobs;
	const series = new MetricSeriesCap(options.maxMetricSeries ?? 1000);
	const statistics = new ModelStatistics();
	let requestSeries: InferenceSeries;

	/** The fleet, as seen from one call (the caller's meta travels with it). */
	const depsFor = (ctx: Context): PredictorDeps => ({
		resolveVersion: (model, version) =>
			ctx.call<VersionView, { model: string; version?: string }>(
				`${SERVICE.registry}.versions.get`,
				{
					model,
					...(version !== undefined ? { version } : {}),
				},
			),
		blobPath: sha256 => blobs.path(sha256),
		pool,
		resolved: version => meteredVersion(ctx, version),
	});
	const parts: PredictorParts = {
		predictor: () => predictor,
		deps: depsFor,
		blobs: () => blobs,
		defaultTimeoutMs: options.defaultTimeoutMs,
	};

	/** One request for `model`: resolved for the caller's tenant, run, counted in the metrics. */
	const inferOne = async (
		service: Service,
		ctx: Ctx<unknown>,
		model: string,
		version: string | undefined,
		request: Record<string, unknown>,
	): Promise<InferResult> => {
		const scope = scopeOf(ctx);
		const events = service as unknown as DomainEventMethods;
		const started = performance.now();
		const timeout = ctx.options?.timeout ?? options.defaultTimeoutMs;
		const deadline = timeout > 0 ? Date.now() + timeout : undefined;
		// Payload capture (mixins/predictor/capture.mixin.ts): a slot when this request is sampled.
		const capture = service as unknown as CaptureMethods;
		const slot = capture.captureSlot(scope.tenantId, model);
		try {
			const result = await predictor.infer(
				depsFor(ctx),
				{ tenant: scope.tenantId, model, version },
				request,
				deadline,
				slot?.observe,
			);
			// Counted for the interval's prediction.summary (never one durable event per request).
			events.countPrediction(scope.tenantId, result.modelName, result.modelVersion, null);
			const ms = performance.now() - started;
			requestSeries.succeeded(
				scope.tenantId,
				result.modelName,
				result.modelVersion,
				trafficKindOf(ctx.meta),
				result.rows,
				ms,
			);
			if (slot) capture.captured(slot, scope.tenantId, result, ms);
			return result;
		} catch (err) {
			const type = (err as { type?: string }).type ?? "INTERNAL_ERROR";
			events.countPrediction(scope.tenantId, model, version ?? null, type);
			requestSeries.failed(
				scope.tenantId,
				model,
				version ?? "",
				trafficKindOf(ctx.meta),
				type,
			);
			if (!(err instanceof Errors.MoleculerClientError)) {
				const ms = performance.now() - started;
				capture.captureFailure(scope.tenantId, model, version ?? "", type, ms);
				const payload: EventPayloads[typeof EVENTS.predictionFailed] = {
					nodeID: service.broker.nodeID,
					tenant: scope.tenantId,
					model,
					version: version ?? null,
					type,
					message: (err as Error).message,
				};
				void events.emitEvent(EVENTS.predictionFailed, payload, ctx);
			}
			throw err;
		}
	};

	/**
	 * Request `i` of an inferMany: parsed first when it came as its JSON text (in place, where
	 * the usage meter's hooks read it), and then answered as JSON text; a request that does not
	 * parse fails alone.
	 */
	const inferParsed = async (
		service: Service,
		ctx: Ctx<unknown>,
		model: string,
		version: string | undefined,
		requests: Array<Record<string, unknown>>,
		i: number,
	): Promise<InferResult> => {
		const json = forwardedJson(requests[i]);
		if (json === null) return inferOne(service, ctx, model, version, requests[i]);
		requests[i] = withoutModel(parseForwardedRequest(json, options.maxJsonDepth));
		return answeredAsJson(await inferOne(service, ctx, model, version, requests[i]));
	};

	return {
		name: SERVICE.predictor,
		mixins: [
			domainEventsMixin({ predictionSummaryMs: options.predictionSummaryMs }),
			localBlobsMixin({ dataDir: options.dataDir, blobs: options.blobs }),
			// Usage metering: counts each infer call (its hooks), flushes to accounts.
			predictionMeterMixin(options.usageFlushMs ?? 10_000),
			explainMixin(parts),
			importanceMixin(parts),
			statisticsMixin(statistics),
			captureMixin({
				flushIntervalMs: options.captureFlushMs ?? 1000,
				capture: { maxPending: options.captureBuffer ?? 10_000 },
			}),
		],

		actions: {
			/**
			 * One prediction request in Open Inference Protocol form (`inputs`, or tabular
			 * `instances`; optional `outputs`, `id`, `parameters`) for `model` (`name`, `name@alias`,
			 * with an optional `version`). Answers outputs as typed arrays.
			 */
			infer: requires("predict", {
				// Safe to repeat: a failed attempt on a vanished node is retried elsewhere.
				retryPolicy: { enabled: true },
				// Callers pick the node holding the model's replica (lib/routing).
				strategy: MODEL_REPLICA_STRATEGY,
				params: {
					model: MODEL_REF_RULE,
					version: { type: "string", optional: true, max: 128 },
				},
				handler(ctx: Ctx<InferParams>) {
					// Travels back to the caller with the answer (the gateway shows it as a header).
					(ctx.meta as { servedBy?: string }).servedBy = this.broker.nodeID;
					const { model, version, ...request } = ctx.params;
					const json = forwardedJson(request);
					if (json !== null) {
						// Parsed into the params, where the usage meter's hooks read the request.
						const parsed = withoutModel(
							parseForwardedRequest(json, options.maxJsonDepth),
						);
						delete ctx.params[FORWARDED_JSON];
						Object.assign(ctx.params, parsed);
						// Answered as JSON text in turn, should it travel (lib/http/json-answer.ts).
						return inferOne(this, ctx, model, version, parsed).then(answeredAsJson);
					}
					return inferOne(this, ctx, model, version, request);
				},
			}),

			/**
			 * Several `infer` requests for one model and version in one call, as a gateway
			 * coalesces them (lib/routing/infer-coalescing.ts): each runs as its own `infer` here
			 * (the batching queue still joins them with other gateways' requests), and each
			 * answers its own result or error, in order. Fleet-internal in practice: only a
			 * gateway makes it, for a caller allowed to `predict`.
			 */
			inferMany: requires("predict", {
				// Safe to repeat as a whole: every request in it is an infer.
				retryPolicy: { enabled: true },
				strategy: MODEL_REPLICA_STRATEGY,
				params: {
					model: MODEL_REF_RULE,
					version: { type: "string", optional: true, max: 128 },
					requests: { type: "array", items: "object", min: 1, max: 4096 },
				},
				handler(ctx: Ctx<InferManyParams>) {
					(ctx.meta as { servedBy?: string }).servedBy = this.broker.nodeID;
					const { model, version, requests } = ctx.params;
					const regenerator = this.broker.errorRegenerator as Errors.Regenerator;
					return Promise.all(
						requests.map((_request, i) =>
							inferParsed(this, ctx, model, version, requests, i).then(
								(value): Settled<InferResult> => ({ ok: true, value }),
								(err: Error): Settled<InferResult> => ({
									ok: false,
									error: regenerator.extractPlainError(err, {}),
								}),
							),
						),
					);
				},
			}),

			/**
			 * Loads a version on this node ahead of requests; `pin` keeps it from eviction
			 * (deployments). `batching` overrides the version's own settings on this node, live
			 * when it is already loaded (queued requests are kept).
			 */
			load: requires("models.write", {
				params: {
					model: MODEL_REF_RULE,
					version: { type: "string", optional: true, max: 128 },
					pin: { type: "boolean", optional: true, default: false },
					batching: SERVING_RULE.props.batching,
				},
				async handler(
					ctx: Ctx<{
						model: string;
						version?: string;
						pin: boolean;
						batching?: BatchingOverride;
					}>,
				) {
					const scope = scopeOf(ctx);
					const { key, version, batching } = await predictor.load(
						depsFor(ctx),
						{
							tenant: scope.tenantId,
							model: ctx.params.model,
							version: ctx.params.version,
						},
						ctx.params.pin,
						ctx.params.batching,
					);
					return {
						key,
						ref: version.ref,
						pinned: ctx.params.pin,
						batching,
						nodeID: this.broker.nodeID,
					};
				},
			}),

			/**
			 * Undoes `load` here: by default unpins, evicts and disposes the version now; with
			 * `unpin: true` it only unpins, and the LRU evicts it when the memory is needed.
			 */
			unload: requires("models.write", {
				params: {
					model: MODEL_REF_RULE,
					version: { type: "string", optional: true, max: 128 },
					unpin: { type: "boolean", optional: true, default: false },
				},
				async handler(ctx: Ctx<{ model: string; version?: string; unpin: boolean }>) {
					const scope = scopeOf(ctx);
					const result = await predictor.unload(
						depsFor(ctx),
						{
							tenant: scope.tenantId,
							model: ctx.params.model,
							version: ctx.params.version,
						},
						{ unpin: ctx.params.unpin },
					);
					return { ...result, nodeID: this.broker.nodeID };
				},
			}),

			/**
			 * This node's model cache (budget, bytes, hit ratio, loads, evictions) and, as
			 * `models`, every loaded version's live load (pinned, bytes, active and queued
			 * requests). Fleet-internal.
			 */
			stats: {
				visibility: "public",
				handler() {
					return {
						nodeID: this.broker.nodeID,
						poolThreads: pool.threads,
						activeRequests: predictor.activeRequests,
						cache: predictor.stats(),
						models: predictor.servingLoad(),
					};
				},
			},
		},

		created() {
			const metrics = nodeMetricsOf(this.broker);
			requestSeries = new InferenceSeries(metrics, series);
			const emit = <E extends keyof EventPayloads>(event: E, payload: EventPayloads[E]) =>
				(this as unknown as DomainEventMethods).emitEvent(event, payload);
			// Made by the local-blobs mixin's `created`, which runs before this one.
			blobs = (this as unknown as LocalBlobsService).blobs;
			pool = new RuntimePool({ threads: options.poolThreads });
			predictor = new Predictor(
				{
					cacheBytes: options.cacheBytes,
					resolveTtlMs: 2000,
					controlOutageMs: options.controlOutageMs ?? 0,
					onControlOutage: down => this.logger.warn(registryOutageMessage(down)),
					limits: options.limits,
					batching: options.batching ?? {},
					poolMinRows: options.poolMinRows ?? 4096,
					executionProviders: options.executionProviders,
					warn: message => this.logger.warn(message),
					...(options.archiveLimits ? { archiveLimits: options.archiveLimits } : {}),
				},
				{
					cache: cacheMetricHooks(metrics, {
						loaded: e => {
							this.logger.info(
								`Loaded ${e.key} (${Math.round(e.bytes / 1e6)} MB) in ${Math.round(e.ms)} ms.`,
							);
							void emit(EVENTS.modelLoaded, {
								nodeID: this.broker.nodeID,
								key: e.key,
								bytes: e.bytes,
								ms: e.ms,
							});
						},
						evicted: e => {
							void emit(EVENTS.modelEvicted, {
								nodeID: this.broker.nodeID,
								key: e.key,
								bytes: e.bytes,
								reason: e.reason,
							});
						},
					}),
					queue: (tenant, model, version) =>
						countingQueueHooks(
							queueMetricHooks(metrics, tenant, model, version, series),
							statistics,
							tenant,
							model,
							version,
						),
					served: e => {
						countServed(statistics)(e);
						requestSeries.servedHook(e);
					},
				},
			);
		},

		async started() {
			const refresh = setInterval(() => {
				const stats = predictor.stats();
				const metrics = nodeMetricsOf(this.broker);
				metrics.cacheHitRatio.set(stats.hitRatio);
				metrics.cacheBytes.set(stats.bytesUsed);
			}, 5000);
			refresh.unref();
			(this as unknown as { refresh: NodeJS.Timeout }).refresh = refresh;
		},

		async stopped() {
			clearInterval((this as unknown as { refresh: NodeJS.Timeout }).refresh);
			await predictor.close();
			await pool.close();
		},
	};
}
