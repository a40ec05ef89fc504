/**
 * The Open Inference Protocol (KServe v2 / Triton HTTP) on the gateway: server metadata and
 * health, model metadata and readiness, inference (JSON or binary tensors) — as actions behind
 * moleculer-web's /v2 routes, and as the direct infer route the HTTP server answers itself
 * (`serveDirectInfer`, lib/http/oip-infer-route.ts) — plus the REST predict of /api/v1.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Context, Errors, ServiceSchema } from "moleculer";
import { allowAnonymous, requires } from "../../lib/accounts/access";
import type { CoalescerOptions } from "../../lib/fleet/call-coalescer";
import {
	InferCoalescing,
	type InferCall,
	type InferManyOutcome,
} from "../../lib/routing/infer-coalescing";
import { SERVICE } from "../../lib/fleet/node-role";
import { inferResponseParts, readInferBody } from "../../lib/http/infer-request";
import {
	BINARY_TENSOR_EXTENSION,
	binaryOutputChooser,
	encodeBinaryResponse,
} from "../../lib/http/oip-binary";
import { oipError, oipVersionRef } from "../../lib/http/oip-http";
import { matchInferRoute, serveInfer, type InferRouteDeps } from "../../lib/http/oip-infer-route";
import {
	callParentOf,
	observedOf,
	parentCallOptions,
	type ParentCallOptions,
} from "../../lib/observability/http-request";
import { directInferSpan, finishHttpSpan } from "../../lib/observability/http-span";
import { modelMetadata, type OipModelMetadata } from "../../lib/http/oip-metadata";
import { versionState } from "../../lib/http/model-repository/repository-index";
import { repositoryPort } from "../../lib/http/model-repository/repository-port";
import {
	encodeInferenceResponse,
	type InferenceResponseParts,
} from "../../lib/inference/response-encoder";
import { DEFAULT_MAX_JSON_DEPTH } from "../../lib/json-policy";
import type { InferResult } from "../../lib/predictor/served-model";
import type { ReceivedInferResult } from "../../lib/http/json-answer";
import type { RoutingMeta } from "../../lib/routing/traffic-middleware";
import type { VersionView } from "../../lib/registry/version-store";
import { MODELFLEET_VERSION } from "../../lib/version";
import { FallbackReadiness } from "../../lib/health/readiness";
import type { CallerMethods } from "./caller.mixin";
import { availableServices } from "./health.mixin";
import {
	ROUTING_KEY_HEADER,
	gatewayMixin,
	PREDICTION_ID_HEADER,
	SERVED_BY_HEADER,
	modelVersionParams,
	requestStream,
	type HttpContext,
	type HttpMeta,
	type PredictParams,
} from "./http-context";

export const DEFAULT_MAX_BODY_BYTES = 64 * 1024 ** 2;

/**
 * The protocol extensions served, as `GET /v2` advertises them (Triton's names): binary
 * tensors, the classification output parameter, model configuration, the model repository,
 * statistics, and compressed bodies (`Content-Encoding`/`Accept-Encoding` gzip and deflate).
 */
export const OIP_EXTENSIONS = [
	BINARY_TENSOR_EXTENSION,
	"classification",
	"model_configuration",
	"model_repository",
	"statistics",
] as const;

export interface OipOptions {
	/** Services that must have been available in the fleet for this gateway to be ready. */
	neededServices: readonly string[];
	/** Of those, the ones that must be available now (default: the predictor). */
	essentialServices?: readonly string[];
	/** Most bytes an inference request body on /v2 may hold, JSON or binary; more answers 413. Default 64 MiB. */
	maxBodyBytes?: number;
	/**
	 * Deepest nesting of objects and arrays in JSON a client sends (REST bodies, /v2 bodies and
	 * binary headers, batch lines, repository requests); deeper answers 400. Default 64.
	 */
	maxJsonDepth?: number;
	/**
	 * Coalescing of concurrent infer calls to remote predictors (lib/routing/infer-coalescing.ts);
	 * null or absent: every call travels alone (a node that runs the predictor itself).
	 */
	coalesce?: CoalescerOptions | null;
	/**
	 * JSON infer bodies up to this many bytes go to a remote predictor unparsed, which parses
	 * them (lib/http/infer-request.ts `forwardJsonUpTo`); null or absent: parsed here (a node
	 * that runs the predictor itself).
	 */
	forwardJsonUpTo?: number | null;
}

export interface OipMethods {
	/** Answers `req` when it is an infer request (true), else leaves it alone (false). */
	serveDirectInfer(req: IncomingMessage, res: ServerResponse): boolean;
	/**
	 * `predictor.infer` for a caller's request, the way the direct infer route calls it
	 * (coalesced where that is on): the gRPC protocol's inference shares it.
	 */
	oipInfer(
		params: Record<string, unknown>,
		meta: RoutingMeta,
	): Promise<{ result: ReceivedInferResult; servedBy: string | null }>;
}

type ModelRef = { model: string; version?: string };

/**
 * Runs a prediction through the predictor; the parts of its Open Inference Protocol answer,
 * whose `parameters` say which execution provider ran (and, with `steps`, the pipeline steps).
 */
async function predictionParts(
	ctx: HttpContext,
	params: PredictParams,
	steps: boolean,
): Promise<InferenceResponseParts> {
	const result = await ctx.call<InferResult, PredictParams>(`${SERVICE.predictor}.infer`, params);
	if (ctx.meta.servedBy) {
		ctx.meta.$responseHeaders = {
			...ctx.meta.$responseHeaders,
			[SERVED_BY_HEADER]: ctx.meta.servedBy,
		};
	}
	// The prediction id (also the body's `id`): ground truth sent back later names it.
	if (result.id !== undefined) {
		ctx.meta.$responseHeaders = {
			...ctx.meta.$responseHeaders,
			[PREDICTION_ID_HEADER]: result.id,
		};
	}
	return inferResponseParts(result, steps);
}

export function oipMixin(
	options: OipOptions,
	readiness = gatewayReadiness(options),
): Partial<ServiceSchema> {
	// Long because it is a mixin schema (a declaration, not a procedure): the Open Inference
	// Protocol actions (v2Server … v2Infer, predict), each a few lines.
	const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
	const maxJsonDepth = options.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH;
	let deps: InferRouteDeps | null = null;

	return gatewayMixin<OipMethods & CallerMethods>({
		created() {
			const call = async <R>(action: string, params: object, meta: RoutingMeta) => {
				// The request's trace (and, with tracing on, the gateway's span of it) as parent.
				const parent = callParentOf(meta);
				const pending = this.broker.call<R, object>(
					action,
					params,
					parent ? { meta, ...parent } : { meta },
				);
				const result = await pending;
				const ctx = (pending as Promise<R> & { ctx?: HttpContext }).ctx;
				return { result, servedBy: ctx?.meta.servedBy ?? null };
			};
			const callOne = ({ params, meta }: InferCall) =>
				call<ReceivedInferResult>(`${SERVICE.predictor}.infer`, params, meta);
			const coalescing = options.coalesce
				? new InferCoalescing<ReceivedInferResult>(options.coalesce, {
						callOne,
						callMany: async (params, meta) => {
							const answer = await call<InferManyOutcome<ReceivedInferResult>[]>(
								`${SERVICE.predictor}.inferMany`,
								params,
								meta,
							);
							return { outcomes: answer.result, servedBy: answer.servedBy };
						},
						restoreError: (plain, servedBy) =>
							(this.broker.errorRegenerator as Errors.Regenerator).restore(
								plain as Errors.PlainMoleculerError,
								{ sender: servedBy },
							),
					})
				: null;
			deps = {
				checkCaller: (req, res) => this.checkCaller(req, res, "predict", "api.v2Infer"),
				sign: identity => this.signIdentity(identity),
				infer: coalescing
					? (params, meta) => coalescing.infer(params, meta)
					: (params, meta) => callOne({ params, meta }),
				writeError: (res, err) => oipError.call(this, undefined as never, res, err),
				maxBodyBytes,
				maxJsonDepth,
				...(options.forwardJsonUpTo != null
					? { forwardJsonUpTo: options.forwardJsonUpTo }
					: {}),
				routingKeyHeader: ROUTING_KEY_HEADER,
				servedByHeader: SERVED_BY_HEADER,
			};
		},

		methods: {
			oipInfer(params, meta) {
				if (deps === null) throw new Error("The OIP mixin is not created yet.");
				return deps.infer(params, meta);
			},

			serveDirectInfer(req, res) {
				const route = deps !== null ? matchInferRoute(req.method, req.url) : null;
				if (route === null) return false;
				const observed = observedOf(req);
				if (!observed) {
					void serveInfer(req, res, route, deps as InferRouteDeps);
					return true;
				}
				const span = this.broker.isTracingEnabled()
					? directInferSpan(this.broker.tracer, req, route.model, SERVICE.api, observed)
					: null;
				const call: Partial<ParentCallOptions> | null = span
					? {
							requestID: span.traceID,
							parentSpan: {
								id: span.id,
								traceID: span.traceID,
								sampled: span.sampled,
							},
						}
					: parentCallOptions(observed);
				void serveInfer(req, res, route, deps as InferRouteDeps, {
					requestId: observed.requestId,
					call,
				}).finally(() => span && finishHttpSpan(span, res));
				return true;
			},
		},

		actions: {
			/**
			 * `POST /api/v1/models/{model}[/versions/{version}]/predict` with `{inputs | instances,
			 * outputs?, id?, parameters?}` → an Open Inference Protocol response, plus the execution
			 * provider and the pipeline steps that ran in `parameters`.
			 */
			predict: requires("predict", {
				params: modelVersionParams(),
				async handler(ctx: HttpContext<PredictParams>) {
					return encodeInferenceResponse(await predictionParts(ctx, ctx.params, true));
				},
			}),

			/** `GET /v2`: server metadata and the protocol extensions served. */
			v2Server: allowAnonymous({
				handler() {
					return {
						name: "modelfleet",
						version: MODELFLEET_VERSION,
						extensions: [...OIP_EXTENSIONS],
					};
				},
			}),

			/** `GET /v2/health/live`. */
			v2Live: allowAnonymous({
				handler(): { live: true } {
					return { live: true };
				},
			}),

			/** `GET /v2/health/ready`: 200 when the gateway can serve inference, as /health/ready says. */
			v2Ready: allowAnonymous({
				handler(ctx: HttpContext): { ready: boolean } {
					const available = availableServices(this.broker);
					const { ready } = readiness.check(this.broker.started, name =>
						available.has(name),
					);
					if (!ready) ctx.meta.$statusCode = 503;
					return { ready };
				},
			}),

			/** `GET /v2/models/{model}[/versions/{version}]`: model metadata (404 for an unknown one). */
			v2Model: requires("models.read", {
				params: modelVersionParams(),
				async handler(ctx: HttpContext<ModelRef>): Promise<OipModelMetadata> {
					const version = await ctx.call<VersionView, ModelRef>(
						`${SERVICE.registry}.versions.get`,
						oipVersionRef(ctx.params),
					);
					if (ctx.params.version !== undefined)
						return modelMetadata(version, [version.version]);
					const all = await ctx.call<
						{ items: VersionView[] },
						{ model: string; limit: number }
					>(`${SERVICE.registry}.versions.list`, { model: version.model, limit: 500 });
					return modelMetadata(
						version,
						all.items.map(v => v.version),
					);
				},
			}),

			/**
			 * `GET /v2/models/{model}[/versions/{version}]/ready`: 200 when the repository index says
			 * READY (a ready replica of the model's deployment serves the version), else 400 with the
			 * index's state and reason — the same function answers both. 400, not 503: the protocol
			 * answers "false" with a 4xx, as Triton does, and a not-ready model is no server fault.
			 */
			v2ModelReady: requires("models.read", {
				params: modelVersionParams(),
				async handler(ctx: HttpContext<ModelRef>) {
					const version = await ctx.call<VersionView, ModelRef>(
						`${SERVICE.registry}.versions.get`,
						oipVersionRef(ctx.params),
					);
					const deployment = await repositoryPort((action, params, opts) =>
						ctx.call(action, params, opts),
					).deployment(version.model);
					const { state, reason } = versionState(version, deployment);
					const ready = state === "READY";
					if (!ready) ctx.meta.$statusCode = 400;
					return {
						name: version.model,
						version: version.version,
						ready,
						...(ready ? {} : { state, reason }),
					};
				},
			}),

			/**
			 * `POST /v2/models/{model}[/versions/{version}]/infer`: the Open Inference Protocol's
			 * inference, JSON or with binary tensors (the body is read here, after the key is
			 * checked); outputs the request asks for as binary come back after a JSON header. The
			 * HTTP server answers these requests itself (`serveDirectInfer`); this action serves
			 * the same route for moleculer-web, and OpenAPI describes it.
			 */
			v2Infer: requires("predict", {
				params: modelVersionParams(),
				async handler(ctx: Context<PredictParams, HttpMeta>): Promise<unknown> {
					const request = await readInferBody(
						requestStream(ctx),
						ctx.meta.oipBody ?? {},
						maxBodyBytes,
						maxJsonDepth,
					);
					const parts = await predictionParts(
						ctx,
						{ ...request, ...oipVersionRef(ctx.params) },
						false,
					);
					const binary = encodeBinaryResponse(parts, binaryOutputChooser(request));
					if (binary === null) return encodeInferenceResponse(parts);
					ctx.meta.$responseType = "application/octet-stream";
					ctx.meta.$responseHeaders = {
						...ctx.meta.$responseHeaders,
						"Inference-Header-Content-Length": String(binary.headerLength),
					};
					return binary.body;
				},
			}),
		},
	});
}

/**
 * The gateway's one readiness: the needed services and a predictor, of which only the
 * essential ones must be available now (lib/health/readiness.ts, FallbackReadiness).
 */
export function gatewayReadiness(options: OipOptions): FallbackReadiness {
	return new FallbackReadiness(
		[...new Set([...options.neededServices, SERVICE.predictor])],
		options.essentialServices ?? [SERVICE.predictor],
	);
}
