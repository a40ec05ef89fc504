/**
 * api — the HTTP gateway (moleculer-web). Health endpoints for load balancers and
 * orchestrators, and the REST API under /api/v1, where every route needs an API key
 * (`Authorization: Bearer <key>` or `x-api-key`). The key's tenant, role and id go into
 * ctx.meta; the services enforce tenancy and roles. The Open Inference Protocol lives under
 * /v2 (JSON and the binary tensor data extension); rate limits count per API key id (per client
 * address on public routes), in Redis when REDIS_URL is set; GET /api/openapi.json describes
 * every route, generated from the routes and the called actions' parameter schemas. Triton's
 * model repository extension (/v2/repository) loads models as deployments, and batch
 * predictions stream CSV or NDJSON rows through the predictor in chunks.
 */
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Context, ServiceSchema } from "moleculer";
import ApiGateway, { type ApiSettingsSchema, type RateLimitSettings } from "moleculer-web";
import { Readable } from "node:stream";
import { allowAnonymous, requires, scopeOf } from "../lib/accounts/access";
import type { FleetTrust } from "../lib/accounts/fleet-trust";
import { can, rolesWith, type Permission } from "../lib/accounts/roles";
import { uploadArtifact } from "../lib/artifacts/artifact-upload";
import {
	ARTIFACT_ACTIONS,
	type ArtifactStat,
	type StoredArtifact,
} from "../lib/artifacts/artifact-protocol";
import { artifactReadStream } from "../lib/artifacts/artifact-read-stream";
import type { Identity } from "../lib/accounts/accounts-store";
import {
	ForbiddenError,
	InvalidInputError,
	NotFoundError,
	PayloadTooLargeError,
	RangeNotSatisfiableError,
	TooManyInFlightError,
	UnauthenticatedError,
} from "../lib/errors";
import {
	encodeInferenceResponse,
	type InferenceResponseParts,
} from "../lib/inference/response-encoder";
import type { InferResult } from "../lib/predictor/served-model";
import { MODEL_FORMATS } from "../lib/model-spec/model-schema";
import { VERSION_BUMPS } from "../lib/registry/version-number";
import { SERVICE } from "../lib/fleet/node-role";
import { checkReadiness, type Readiness } from "../lib/health/readiness";
import { apiKeyFromHeaders } from "../lib/http/api-key-header";
import { restError } from "../lib/http/error-response";
import { createdLocation } from "../lib/http/created-location";
import { receiveDataset } from "../lib/http/dataset-upload";
import { inferResponseParts, readInferBody } from "../lib/http/infer-request";
import { firstFilePart, isMultipart } from "../lib/http/multipart-file";
import { streamAliasMatcher } from "../lib/http/stream-aliases";
import { EventStreams } from "../lib/http/event-stream";
import type { JobView } from "../lib/scheduler/job-store";
import {
	EVENTS,
	type TrainingCompletedEvent,
	type TrainingFailedEvent,
	type TrainingProgressEvent,
	type TrainingStartedEvent,
} from "../lib/events";
import type { RoutingMeta } from "../lib/routing/traffic-middleware";
import { modelMetadata, type OipModelMetadata } from "../lib/http/oip-metadata";
import { oipError, oipVersionRef } from "../lib/http/oip-http";
import { matchInferRoute, serveInfer, type InferRouteDeps } from "../lib/http/oip-infer-route";
import { MODELFLEET_VERSION } from "../lib/version";
import type { VersionView } from "../lib/registry/version-store";
import type { VersionFile } from "../lib/registry/version-files";
import { chooseRange, etagMatches } from "../lib/http/byte-range";
import { TtlCache } from "../lib/cache/ttl-cache";
import {
	callerMiddleware,
	clientAddress,
	rateLimitKey,
	type CallerRequest,
} from "../lib/http/caller";
import { BodyGuard, type BodyKind } from "../lib/http/body-guard";
import { ByteBudget } from "../lib/http/byte-budget";
import {
	BINARY_TENSOR_EXTENSION,
	INFERENCE_HEADER_LENGTH,
	binaryOutputChooser,
	encodeBinaryResponse,
} from "../lib/http/oip-binary";
import { buildOpenApiDocument, type OpenApiAlias } from "../lib/http/openapi";
import { createRateCounter, type RateCounter } from "../lib/http/rate-limit";
import {
	resolveRateLimitOptions,
	type RateLimitOptions,
} from "../lib/http/rate-limit/rate-limit-options";
import { routeRateLimit } from "../lib/http/rate-limit/rate-limit-store";
import { jsonBodyParser, readOptionalJson } from "../lib/http/json-body";
import { DEFAULT_MAX_JSON_DEPTH } from "../lib/json-policy";
import { requestTargetProblem } from "../lib/http/request-target";
import { parseIndexRequest, parseLoadRequest } from "../lib/http/model-repository/load-request";
import { repositoryPort } from "../lib/http/model-repository/repository-port";
import { repositoryIndex } from "../lib/http/model-repository/repository-index";
import {
	loadModel,
	unloadModel,
	type RepositoryModelState,
} from "../lib/http/model-repository/repository-load";
import {
	BATCH_FORMATS,
	batchFormat,
	ndjsonRows,
	tabularInput,
	type BatchFormat,
} from "../lib/http/batch-predict/input-rows";
import {
	DEFAULT_CHUNK_ROWS,
	inferParams,
	rowChunks,
	type ChunkPayload,
} from "../lib/http/batch-predict/batch-chunk";
import { csvChunks } from "../lib/http/batch-predict/csv-chunks";
import { batchPredictLines } from "../lib/http/batch-predict/batch-predict";
import { fleetViewOf } from "../lib/routing/fleet-view";

export interface ApiServiceOptions {
	/** Signs the identity of each authenticated request (the fleet secret). */
	trust: FleetTrust;
	host: string;
	port: number;
	/** A PEM certificate and key: the gateway serves HTTPS (the direct /v2 infer route too). Default: HTTP. */
	https?: { cert: Buffer; key: Buffer } | null;
	/** Services that must be available in the fleet for this gateway to be ready. */
	neededServices: readonly string[];
	/** How long an authenticated key is trusted without asking accounts again (a revoked key works this long). */
	keyCacheMs?: number;
	/** Rate limits per API key id (per client address on public routes); default off. */
	rateLimit?: Partial<RateLimitOptions>;
	/** Most bytes an inference request body on /v2 may hold, JSON or binary; more answers 413. Default 64 MiB. */
	maxBodyBytes?: number;
	/**
	 * Deepest nesting of objects and arrays in JSON a client sends (REST bodies, /v2 bodies and
	 * binary headers, batch lines, repository requests); deeper answers 400. Default 64.
	 */
	maxJsonDepth?: number;
	/** Most bytes a dataset upload may have; more answers 413. Default 100 MiB. */
	maxDatasetBytes?: number;
	/**
	 * Where dataset uploads spill while they are checked (MODELFLEET_DATA_DIR/spill on nodes):
	 * emptied when the service starts, so an upload cut short by a crash leaves nothing for
	 * long. Default: a folder of the OS temp directory, not emptied.
	 */
	spillDir?: string;
	/** Most bytes an upload (artifact, model file) may have; a larger declared length answers 413 before reading. Default 2 GiB. */
	maxUploadBytes?: number;
	/**
	 * Bytes of bodies held in memory (JSON, inference, repository) per caller and in total;
	 * more answers 429 / 503. Default 128 MiB and 512 MiB.
	 */
	inFlightBytes?: { perKey: number; total: number };
	/** A body that sends nothing this long is dropped (408), ms. Default 30 s. */
	bodyIdleTimeoutMs?: number;
	/** Event streams one API key may hold open; more answers 429. Default 16. */
	maxStreamsPerKey?: number;
	/** Encrypt dataset spill files under a throwaway key (encryption at rest is on). Default false. */
	sealSpills?: boolean;
	/** How long a model repository load waits for a ready replica before answering 503, ms. Default 20 s. */
	repositoryLoadTimeoutMs?: number;
	/** Batch prediction: rows per predictor call (default 512) and calls in flight (default 4). */
	batchPredict?: { chunkRows?: number; concurrency?: number };
}

interface HttpMeta extends RoutingMeta {
	$statusCode?: number;
	$responseType?: string;
	$responseHeaders?: Record<string, string>;
	/** Set by the predictor that answered (merged back from its call). */
	servedBy?: string;
	/** The Content-Type of an upload's body: raw, or multipart/form-data. */
	uploadContentType?: string;
	/** The HTTP headers an Open Inference Protocol infer body is read by, copied before the call. */
	oipBody?: { headerLength?: string | string[]; contentLength?: string };
	/** The Content-Type of a batch prediction's body, copied before the call. */
	batchContentType?: string;
	/** A download's conditional and range headers, copied before the call. */
	download?: { range?: string; ifRange?: string; ifNoneMatch?: string };
}

/** What moleculer-web resolved a route to: the action's definition, with its permission. */
interface GuardedActionInfo {
	name?: string;
	permission?: Permission;
}

/** A client's sticky key for traffic splits (same key, same version). */
const ROUTING_KEY_HEADER = "x-modelfleet-routing-key";
/** Which node answered a prediction: for operators following a request. */
const SERVED_BY_HEADER = "x-modelfleet-node";

const DEFAULT_MAX_BODY_BYTES = 64 * 1024 ** 2;
/** Most bytes of a JSON body on /api/v1 (moleculer-web's body parser had the same). */
const JSON_BODY_BYTES = 1024 ** 2;
/** A multipart upload's file is the limit; its framing may take a little more. */
const MULTIPART_SLACK_BYTES = 1024 ** 2;

/** The REST routes of /api/v1: "METHOD path" → action. */
const REST_ALIASES = {
	"GET nodes": `${SERVICE.scheduler}.nodes`,
	"DELETE nodes/:id": `${SERVICE.scheduler}.nodes.forget`,

	"GET tenant": `${SERVICE.accounts}.tenants.get`,
	"GET tenants": `${SERVICE.accounts}.tenants.list`,
	"POST tenants": `${SERVICE.accounts}.tenants.create`,
	"GET keys": `${SERVICE.accounts}.keys.list`,
	"POST keys": `${SERVICE.accounts}.keys.create`,
	"DELETE keys/:id": `${SERVICE.accounts}.keys.revoke`,

	"GET models": `${SERVICE.registry}.models.list`,
	"POST models": `${SERVICE.registry}.models.create`,
	"GET models/:name": `${SERVICE.registry}.models.get`,
	"PATCH models/:name": `${SERVICE.registry}.models.update`,
	"DELETE models/:name": `${SERVICE.registry}.models.delete`,
	"GET models/:model/versions": `${SERVICE.registry}.versions.list`,
	"POST models/:model/versions": `${SERVICE.registry}.versions.create`,
	"GET models/:model/versions/:version": `${SERVICE.registry}.versions.get`,
	"PATCH models/:model/versions/:version": `${SERVICE.registry}.versions.update`,
	"POST models/:model/versions/:version/transition": `${SERVICE.registry}.versions.transition`,
	"GET models/:model/aliases": `${SERVICE.registry}.aliases.list`,
	"PUT models/:model/aliases/:alias": `${SERVICE.registry}.aliases.set`,
	"DELETE models/:model/aliases/:alias": `${SERVICE.registry}.aliases.delete`,
	"POST models/:model/versions/import": `${SERVICE.registry}.versions.import`,
	"GET models/:model/versions/:version/files": `${SERVICE.registry}.versions.files`,
	// Downloads stream from the artifacts service in ranged parts (bounded memory, any size).
	"GET models/:model/versions/:version/files/:path": `${SERVICE.api}.downloadFile`,
	"GET audit": `${SERVICE.registry}.audit.list`,

	"POST datasets": `stream:${SERVICE.api}.uploadDataset`,
	"GET datasets": `${SERVICE.registry}.datasets.list`,
	"GET datasets/:ref": `${SERVICE.registry}.datasets.get`,

	"POST training-jobs": `${SERVICE.scheduler}.jobs.enqueue`,
	"GET training-jobs": `${SERVICE.scheduler}.jobs.list`,
	"GET training-jobs/:id": `${SERVICE.scheduler}.jobs.get`,
	"POST training-jobs/:id/cancel": `${SERVICE.scheduler}.jobs.cancel`,
	"GET training-jobs/:id/events": `${SERVICE.api}.trainingEvents`,

	"GET deployments": `${SERVICE.scheduler}.deployments.list`,
	"POST deployments": `${SERVICE.scheduler}.deployments.create`,
	"GET deployments/:model": `${SERVICE.scheduler}.deployments.get`,
	"PATCH deployments/:model": `${SERVICE.scheduler}.deployments.update`,
	"DELETE deployments/:model": `${SERVICE.scheduler}.deployments.delete`,
	"POST deployments/:model/scale": `${SERVICE.scheduler}.deployments.scale`,
	"POST deployments/:model/promote": `${SERVICE.scheduler}.deployments.promote`,
	"POST deployments/:model/rollback": `${SERVICE.scheduler}.deployments.rollback`,
	// Predictions as JSON: Open Inference Protocol `inputs` or tabular `instances`.
	"POST models/:model/predict": `${SERVICE.api}.predict`,
	"POST models/:model/versions/:version/predict": `${SERVICE.api}.predict`,
	// Uploads stream through this gateway to the artifacts service part by part (bounded memory).
	"POST artifacts": `stream:${SERVICE.api}.uploadArtifact`,
	"POST models/:model/versions/upload": `stream:${SERVICE.api}.uploadVersion`,
	// Batch predictions: CSV or NDJSON rows streamed in, NDJSON lines streamed out.
	"POST models/:model/batch-predict": `stream:${SERVICE.api}.batchPredict`,
	"POST models/:model/versions/:version/batch-predict": `stream:${SERVICE.api}.batchPredict`,
} as const;

/** Triton's model repository extension, as `GET /v2` advertises it. */
const MODEL_REPOSITORY_EXTENSION = "model_repository";

type PredictParams = Record<string, unknown> & { model: string; version?: string };

/**
 * Runs a prediction through the predictor; the parts of its Open Inference Protocol answer,
 * whose `parameters` say which execution provider ran (and, with `steps`, the pipeline steps).
 */
async function predictionParts(
	ctx: Context<unknown, HttpMeta>,
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
	return inferResponseParts(result, steps);
}

/**
 * Reads an Open Inference Protocol infer body from the request stream: JSON, or a JSON header
 * and binary tensors when `Inference-Header-Content-Length` is given.
 */
async function readInferRequest(
	ctx: Context<unknown, HttpMeta>,
	maxBodyBytes: number,
	maxJsonDepth: number,
): Promise<Record<string, unknown>> {
	return readInferBody(requestStream(ctx), ctx.meta.oipBody ?? {}, maxBodyBytes, maxJsonDepth);
}

/** Calls an action for the caller of `ctx` (its tenant and role travel in the meta). */
function callerOf(
	ctx: Context,
): (action: string, params: object, options?: object) => Promise<unknown> {
	return (action, params, options) => ctx.call(action, params, options);
}

/**
 * As `callerOf`, each call with the caller's identity signed afresh: for actions whose later
 * calls may start after the request's own identity expired (long uploads).
 */
function freshCallerOf(
	ctx: Context,
	trust: FleetTrust,
): (action: string, params: object, options?: object) => Promise<unknown> {
	const scope = scopeOf(ctx);
	const identity = { tenant: scope.tenantId, role: scope.role, keyId: scope.keyId };
	return (action, params, options) =>
		ctx.call(action, params, {
			...options,
			meta: {
				...(options as { meta?: object } | undefined)?.meta,
				identity: trust.sign(identity),
			},
		});
}

/** The body of a model repository request: JSON, or nothing. */
function readRepositoryBody(
	ctx: Context<unknown, HttpMeta>,
	maxBodyBytes: number,
	maxJsonDepth: number,
): Promise<unknown> {
	return readOptionalJson(requestStream(ctx), {
		maxDepth: maxJsonDepth,
		limitBytes: maxBodyBytes,
		limitSetting: "MODELFLEET_MAX_BODY_BYTES",
		contentLength: ctx.meta.oipBody?.contentLength,
	});
}

/** The request body of a `stream:` route. */
function requestStream(ctx: Context): Readable {
	const stream = (ctx as unknown as { stream?: Readable | null }).stream;
	if (!stream) throw new InvalidInputError("Send the file as the request body.");
	return stream;
}

/**
 * An upload's bytes: the raw body, or the file part of a `multipart/form-data` body (its file
 * name fills in a missing `fileName`).
 */
async function uploadSource(
	ctx: Context<unknown, HttpMeta>,
): Promise<{ file: Readable; filename: string | null }> {
	const body = requestStream(ctx);
	const type = ctx.meta.uploadContentType;
	if (!isMultipart(type)) return { file: body, filename: null };
	const part = await firstFilePart(body, type as string);
	return { file: part.file, filename: part.filename || null };
}

/** A request header as one string (Node joins repeated ones, but types allow an array). */
function headerText(value: string | string[] | undefined): string | undefined {
	return Array.isArray(value) ? value.join(", ") : value;
}

/** Removes what a folder holds (creating it when missing). */
async function emptyFolder(folder: string): Promise<void> {
	await fs.promises.rm(folder, { recursive: true, force: true });
	await fs.promises.mkdir(folder, { recursive: true });
}

/** The /api/v1 requests that go to `stream:` (upload) actions: the JSON parser leaves them alone. */
const isStreamRequest = streamAliasMatcher(REST_ALIASES);
/** Uploads stored as artifacts (MODELFLEET_MAX_ARTIFACT_BYTES), and dataset uploads. */
const isFileUpload = streamAliasMatcher({
	"POST artifacts": REST_ALIASES["POST artifacts"],
	"POST models/:model/versions/upload": REST_ALIASES["POST models/:model/versions/upload"],
});
const isDatasetUpload = streamAliasMatcher({ "POST datasets": REST_ALIASES["POST datasets"] });
const JSON_TYPE = /^application\/([\w.+-]*\+)?json\b/i;

export function apiService(options: ApiServiceOptions): ServiceSchema<ApiSettingsSchema> {
	/** Open SSE streams of training jobs, fed by the trainers' broadcast events. */
	const trainingStreams = new EventStreams();
	const identities = new TtlCache<Identity>(options.keyCacheMs ?? 10_000, 10_000);
	const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
	const maxUploadBytes = options.maxUploadBytes ?? 2 * 1024 ** 3;
	const maxDatasetBytes = options.maxDatasetBytes ?? 100 * 1024 ** 2;
	const maxStreamsPerKey = options.maxStreamsPerKey ?? 16;
	const budget = new ByteBudget({
		perKeyBytes: options.inFlightBytes?.perKey ?? 128 * 1024 ** 2,
		totalBytes: options.inFlightBytes?.total ?? 512 * 1024 ** 2,
	});
	const maxJsonDepth = options.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH;
	// The REST routes' JSON bodies, under the one decoding policy (lib/json-policy.ts).
	const restJsonBody = jsonBodyParser({
		limitBytes: JSON_BODY_BYTES,
		limitSetting: "the 1 MiB limit of /api/v1 JSON bodies",
		maxDepth: maxJsonDepth,
		applies: req =>
			JSON_TYPE.test(req.headers["content-type"] ?? "") &&
			!isStreamRequest(
				req.method,
				(req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url,
			),
	});
	const limits = resolveRateLimitOptions(options.rateLimit);
	// Made when the service is created (Redis connects then), used by every route's limiter.
	let counter: RateCounter | null = null;
	const sharedCounter: RateCounter = {
		hit: key => counter?.hit(key) ?? Promise.resolve({ count: 0, resetAt: 0 }),
		ready: () => Promise.resolve(true),
		close: () => Promise.resolve(),
	};
	// moleculer-web types its store factory as its own abstract class; ours has the same shape.
	const rateLimit = (
		limits.limit > 0 ? routeRateLimit(sharedCounter, limits, rateLimitKey) : undefined
	) as RateLimitSettings | undefined;

	/** What a request's body is, for the body guard: uploads stream, the rest is held in memory. */
	const bodyKind = (req: IncomingMessage): BodyKind => {
		const { method, url } = req;
		const multipart = isMultipart(req.headers["content-type"]);
		const upload = (limit: number): BodyKind => ({
			buffered: false,
			maxBytes: limit + (multipart ? MULTIPART_SLACK_BYTES : 0),
			tooLarge: () => new PayloadTooLargeError(limit),
		});
		if (url?.startsWith("/api/v1/") && isStreamRequest(method, url)) {
			if (isFileUpload(method, url)) return upload(maxUploadBytes);
			if (isDatasetUpload(method, url)) return upload(maxDatasetBytes);
			return { buffered: false, maxBytes: Number.MAX_SAFE_INTEGER }; // batch predictions
		}
		return {
			buffered: true,
			maxBytes: url?.startsWith("/v2/") ? maxBodyBytes : JSON_BODY_BYTES,
		};
	};
	let guard: BodyGuard | null = null;

	/** An API key → its identity, through a short cache; 401 for an unknown or revoked key. */
	async function identify(ctx: Context, key: string): Promise<Identity> {
		let identity = identities.get(key);
		if (identity === undefined) {
			identity = await ctx.call<Identity, { key: string }>(
				`${SERVICE.accounts}.authenticate`,
				{ key },
			);
			identities.set(key, identity);
		}
		return identity;
	}
	// Resolves the key before moleculer-web's rate limiter runs, so limits count per key id.
	const resolveCaller = callerMiddleware((req, key) =>
		identify((req as IncomingMessage & { $ctx: Context }).$ctx, key),
	);

	return {
		name: SERVICE.api,
		mixins: [ApiGateway],

		settings: {
			host: options.host,
			port: options.port,
			...(options.https ? { https: options.https } : {}),
			routes: [
				{
					// The OpenAPI document of every route below, for tools and clients (no key).
					path: "/api",
					mappingPolicy: "restrict",
					aliases: { "GET openapi.json": `${SERVICE.api}.openapi` },
					bodyParsers: false,
					rateLimit,
				},
				{
					path: "/health",
					mappingPolicy: "restrict",
					bodyParsers: false,
					aliases: {
						"GET live": `${SERVICE.api}.live`,
						"GET ready": `${SERVICE.api}.ready`,
					},
				},
				{
					path: "/api/v1",
					mappingPolicy: "restrict",
					authentication: true,
					// JSON bodies are read by our parser (depth, NUL, UTF-8), not moleculer-web's.
					bodyParsers: false,
					use: [restJsonBody, resolveCaller],
					rateLimit,
					aliases: REST_ALIASES,
					onBeforeCall(
						ctx: Context<unknown, HttpMeta>,
						_route: unknown,
						req: IncomingMessage & { $alias?: { action?: string } },
					) {
						// A batch prediction reads its body itself, as CSV or NDJSON by its type.
						if (req.$alias?.action === `${SERVICE.api}.batchPredict`)
							ctx.meta.batchContentType = req.headers["content-type"];
						if (req.$alias?.action === `${SERVICE.api}.downloadFile`)
							ctx.meta.download = {
								range: req.headers.range,
								ifRange: headerText(req.headers["if-range"]),
								ifNoneMatch: headerText(req.headers["if-none-match"]),
							};
						// Uploads take a raw body or a multipart form.
						ctx.meta.uploadContentType = req.headers["content-type"];
					},
					onAfterCall(
						ctx: Context<unknown, HttpMeta & { $location?: string }>,
						_route: unknown,
						req: IncomingMessage & {
							method?: string;
							originalUrl?: string;
							$action?: { name?: string };
						},
						res: ServerResponse,
						data: unknown,
					) {
						// A create answers 201 Created with where the new thing is.
						if (req.method === "POST" && /\.create$/.test(req.$action?.name ?? ""))
							res.statusCode = 201;
						if (res.statusCode === 201 || ctx.meta.$statusCode === 201) {
							ctx.meta.$location = createdLocation(
								"/api/v1",
								data,
								(req.originalUrl ?? "").split("?")[0],
							);
						}
						return data;
					},
				},

				{
					// Open Inference Protocol, the parts that need no key (load balancers, clients' probes).
					path: "/v2",
					mappingPolicy: "restrict",
					bodyParsers: false,
					rateLimit,
					aliases: {
						"GET /": `${SERVICE.api}.v2Server`,
						"GET health/live": `${SERVICE.api}.v2Live`,
						"GET health/ready": `${SERVICE.api}.v2Ready`,
					},
					onError: oipError,
				},
				{
					// Open Inference Protocol (KServe v2 / Triton HTTP), for the caller's tenant. A path of its
					// own: moleculer-web keeps one route per path.
					path: "/v2/models",
					mappingPolicy: "restrict",
					authentication: true,
					// Infer reads its own body (JSON or binary tensors) once the key is checked.
					bodyParsers: false,
					use: [resolveCaller],
					rateLimit,
					aliases: {
						"GET :model": `${SERVICE.api}.v2Model`,
						"GET :model/versions/:version": `${SERVICE.api}.v2Model`,
						"GET :model/ready": `${SERVICE.api}.v2ModelReady`,
						"GET :model/versions/:version/ready": `${SERVICE.api}.v2ModelReady`,
						"POST :model/infer": `stream:${SERVICE.api}.v2Infer`,
						"POST :model/versions/:version/infer": `stream:${SERVICE.api}.v2Infer`,
					},
					onBeforeCall(
						ctx: Context<unknown, HttpMeta>,
						_route: unknown,
						req: IncomingMessage,
					) {
						ctx.meta.oipBody = {
							headerLength: req.headers[INFERENCE_HEADER_LENGTH],
							contentLength: req.headers["content-length"],
						};
					},
					onError: oipError,
				},
				{
					// Triton's model repository extension: index, load (with its config and file
					// overrides) and unload, mapped onto the tenant's registry and deployments. The
					// body is read by the actions: Triton's clients may send it without a JSON type.
					path: "/v2/repository",
					mappingPolicy: "restrict",
					authentication: true,
					bodyParsers: false,
					use: [resolveCaller],
					rateLimit,
					aliases: {
						"POST index": `stream:${SERVICE.api}.repositoryIndex`,
						"POST models/:model/load": `stream:${SERVICE.api}.repositoryLoad`,
						"POST models/:model/unload": `stream:${SERVICE.api}.repositoryUnload`,
					},
					onBeforeCall(
						ctx: Context<unknown, HttpMeta>,
						_route: unknown,
						req: IncomingMessage,
					) {
						ctx.meta.oipBody = { contentLength: req.headers["content-length"] };
					},
					onError: oipError,
				},
			],

			onError: restError,
		},

		created() {
			this.guardRequests();
			if (limits.limit === 0) return;
			let lastWarning = 0;
			counter = createRateCounter(limits, err => {
				// A Redis outage lets requests through uncounted; say so, but not per request.
				if (Date.now() - lastWarning < 10_000) return;
				lastWarning = Date.now();
				this.logger.warn(
					`Rate limits are not counted: the store failed (${(err as Error).message}).`,
				);
			});
		},

		async started() {
			// Spill files of uploads a crash cut short: nothing else uses this folder.
			if (options.spillDir !== undefined) await emptyFolder(options.spillDir);
			// Requests before Redis answers would go uncounted: give it a moment at start.
			if (counter && !(await counter.ready(5000)))
				this.logger.warn(
					"Rate limits: Redis is not answering yet; requests pass uncounted until it does.",
				);
		},

		async stopped() {
			guard?.close();
			await counter?.close();
			counter = null;
		},

		events: {
			[EVENTS.trainingStarted](ctx: Context<TrainingStartedEvent>) {
				const { jobId, nodeID, fromEpoch, backend, device } = ctx.params;
				trainingStreams.publish(jobId, "state", {
					state: "running",
					nodeID,
					fromEpoch,
					backend,
					device,
				});
			},
			[EVENTS.trainingProgress](ctx: Context<TrainingProgressEvent>) {
				const { jobId, epoch, epochs, metrics, samplesPerSecond, etaMs, nodeID } =
					ctx.params;
				trainingStreams.publish(jobId, "progress", {
					epoch,
					epochs,
					metrics,
					samplesPerSecond,
					etaMs,
					nodeID,
				});
			},
			[EVENTS.trainingCompleted](ctx: Context<TrainingCompletedEvent>) {
				const { jobId, version, state, metrics, bestEpoch, epochsRun, stoppedEarly } =
					ctx.params;
				trainingStreams.close(jobId, "end", {
					state: "completed",
					result: { version, state, metrics, bestEpoch, epochsRun, stoppedEarly },
				});
			},
			[EVENTS.trainingFailed](ctx: Context<TrainingFailedEvent>) {
				const { jobId, reason, final, nodeID } = ctx.params;
				if (final) trainingStreams.close(jobId, "end", { state: "failed", error: reason });
				else
					trainingStreams.publish(jobId, "state", {
						state: "queued",
						reason,
						lostNode: nodeID,
					});
			},
		},

		methods: {
			/**
			 * Puts three things in front of moleculer-web, on the HTTP server itself. The edge check
			 * of every request's path and query (lib/http/request-target.ts): NUL, invalid UTF-8 or
			 * a malformed escape answers 400 before any route sees it. The body guard
			 * (lib/http/body-guard.ts): bytes in flight, idle bodies, declared lengths. And the OIP
			 * infer route (lib/http/oip-infer-route.ts): the same checks and answers without
			 * moleculer-web's generic pipeline; with rate limits on, infer requests stay on
			 * moleculer-web's route, whose limiter counts them.
			 */
			guardRequests(): void {
				const server = (this as unknown as { server?: Server }).server;
				if (!server) return;
				const fallback = server.listeners("request") as Array<
					(req: IncomingMessage, res: ServerResponse) => void
				>;
				server.removeAllListeners("request");
				const bodyGuard = new BodyGuard({
					budget,
					idleTimeoutMs: options.bodyIdleTimeoutMs ?? 30_000,
					classify: bodyKind,
					callerKey: req => {
						const key = apiKeyFromHeaders(req.headers);
						return key !== null ? `key:${key}` : `ip:${clientAddress(req)}`;
					},
					writeError: (req, res, err) =>
						(req.url?.startsWith("/v2/") ? oipError : restError).call(
							this,
							req,
							res,
							err,
						),
				});
				guard = bodyGuard;
				const deps: InferRouteDeps = {
					identify: key => identify(this.broker as unknown as Context, key),
					sign: identity => options.trust.sign(identity),
					infer: async (params, meta) => {
						const call = this.broker.call<InferResult, Record<string, unknown>>(
							`${SERVICE.predictor}.infer`,
							params,
							{ meta },
						);
						const result = await call;
						const ctx = (
							call as Promise<InferResult> & { ctx?: Context<unknown, HttpMeta> }
						).ctx;
						return { result, servedBy: ctx?.meta.servedBy ?? null };
					},
					writeError: (res, err) => oipError.call(this, undefined as never, res, err),
					maxBodyBytes,
					maxJsonDepth,
					routingKeyHeader: ROUTING_KEY_HEADER,
					servedByHeader: SERVED_BY_HEADER,
				};
				const direct = limits.limit === 0;
				server.on("request", (req: IncomingMessage, res: ServerResponse) => {
					const refused = requestTargetProblem(req.url);
					if (refused !== null) {
						req.resume();
						const write = req.url?.startsWith("/v2") ? oipError : restError;
						write.call(this, req, res, refused);
						return;
					}
					if (!bodyGuard.admit(req, res)) return;
					const route = direct ? matchInferRoute(req.method, req.url) : null;
					if (route !== null) void serveInfer(req, res, route, deps);
					else for (const listener of fallback) listener.call(server, req, res);
				});
			},

			/** moleculer-web's hook: the key → its identity, put into ctx.meta for every call after. */
			async authenticate(
				ctx: Context<unknown, HttpMeta>,
				_route: unknown,
				req: IncomingMessage,
			): Promise<Identity> {
				// The route middleware has usually resolved the key already (for the rate limiter).
				const caller = (req as CallerRequest).$caller;
				if (caller?.kind === "refused") throw caller.error;
				const key = apiKeyFromHeaders(req.headers);
				if (key === null) throw new UnauthenticatedError();
				const identity =
					caller?.kind === "identified" ? caller.identity : await identify(ctx, key);
				ctx.meta.tenant = identity.tenant;
				ctx.meta.role = identity.role;
				ctx.meta.keyId = identity.keyId;
				// What the services believe: this gateway vouches for the key it authenticated.
				ctx.meta.identity = options.trust.sign(identity);
				// The role is checked here, before the action validates its parameters: a caller
				// who may not do something hears 403, not how to fix a request it may not send.
				const action = (req as IncomingMessage & { $action?: GuardedActionInfo }).$action;
				if (action?.permission !== undefined && !can(identity.role, action.permission)) {
					throw new ForbiddenError(
						identity.role,
						`call ${action.name ?? "this action"}`,
						rolesWith(action.permission),
					);
				}
				// Requests with one routing key see one version of a split (canary) deployment.
				const routingKey = req.headers[ROUTING_KEY_HEADER];
				if (typeof routingKey === "string" && routingKey.length > 0) {
					ctx.meta.routingKey = routingKey.slice(0, 256);
				}
				return identity;
			},
		},

		actions: {
			/**
			 * `POST /api/v1/datasets?name=&format=csv|ndjson&labelColumn=` with the file as the body:
			 * parsed and checked while it streams, stored only when it is valid → 201 with the new
			 * dataset version and its validation report; 400 naming the row and column otherwise.
			 */
			uploadDataset: requires("train", {
				params: {
					name: { type: "string", pattern: /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/ },
					format: {
						type: "enum",
						values: ["csv", "ndjson"],
						optional: true,
						default: "csv",
					},
					labelColumn: { type: "string", optional: true, min: 1, max: 256 },
				},
				async handler(
					ctx: Context<
						{ name: string; format: "csv" | "ndjson"; labelColumn?: string },
						HttpMeta
					>,
				): Promise<unknown> {
					const received = await receiveDataset(
						(await uploadSource(ctx)).file,
						{
							format: ctx.params.format,
							labelColumn: ctx.params.labelColumn ?? null,
							maxBytes: maxDatasetBytes,
							...(options.spillDir !== undefined
								? { spillDir: options.spillDir }
								: {}),
							sealSpill: options.sealSpills ?? false,
						},
						freshCallerOf(ctx, options.trust),
					);
					const dataset = await freshCallerOf(ctx, options.trust)(
						`${SERVICE.registry}.datasets.create`,
						{ name: ctx.params.name, ...received },
					);
					ctx.meta.$statusCode = 201;
					return dataset;
				},
			}),

			/**
			 * `GET /api/v1/training-jobs/{id}/events`: Server-Sent Events — the epochs so far, then
			 * each new one as it ends, until the job completes, fails or is cancelled.
			 */
			trainingEvents: requires("models.read", {
				params: { id: { type: "uuid" } },
				async handler(ctx: Context<{ id: string }, HttpMeta>) {
					const job = await ctx.call<JobView, { id: string }>(
						`${SERVICE.scheduler}.jobs.get`,
						{
							id: ctx.params.id,
						},
					);
					ctx.meta.$responseType = "text/event-stream";
					ctx.meta.$responseHeaders = {
						"Cache-Control": "no-cache",
						"X-Accel-Buffering": "no",
					};
					const backlog = [
						{
							event: "state",
							data: { state: job.state, nodeID: job.nodeID, epoch: job.epoch },
						},
						...job.progress.map(p => ({ event: "progress", data: p })),
					];
					// Counted from here to its close, with no wait in between: no race past the limit.
					const owner = ctx.meta.keyId ?? "";
					if (trainingStreams.openBy(owner) >= maxStreamsPerKey)
						throw new TooManyInFlightError(
							"event streams",
							maxStreamsPerKey,
							"MODELFLEET_MAX_STREAMS_PER_KEY",
						);
					const stream = trainingStreams.open(job.id, backlog, owner);
					if (job.state !== "queued" && job.state !== "running") {
						trainingStreams.close(job.id, "end", {
							state: job.state,
							result: job.result,
							error: job.error,
						});
					}
					return stream;
				},
			}),

			/** `POST /api/v1/artifacts` with the file as the body → `{sha256, size, created}`. */
			uploadArtifact: requires("models.write", {
				async handler(ctx: Context<unknown, HttpMeta>): Promise<StoredArtifact> {
					const stored = await uploadArtifact(
						freshCallerOf(ctx, options.trust),
						(await uploadSource(ctx)).file,
					);
					ctx.meta.$statusCode = stored.created ? 201 : 200;
					return stored;
				},
			}),

			/**
			 * `POST /api/v1/models/{model}/versions/upload?format=&version=|bump=&fileName=` with the
			 * model file as the body: stores it, then imports it as a new version (schema from the file).
			 */
			uploadVersion: requires("models.write", {
				params: {
					model: { type: "string", max: 256 },
					format: { type: "enum", values: [...MODEL_FORMATS], optional: true },
					version: { type: "string", optional: true, max: 128 },
					bump: { type: "enum", values: [...VERSION_BUMPS], optional: true },
					fileName: { type: "string", optional: true, max: 256 },
					description: { type: "string", optional: true, max: 4096 },
					state: {
						type: "enum",
						values: ["Draft", "Trained", "Validated"],
						optional: true,
					},
				},
				async handler(
					ctx: Context<Record<string, string | undefined>, HttpMeta>,
				): Promise<unknown> {
					const { file, filename } = await uploadSource(ctx);
					const call = freshCallerOf(ctx, options.trust);
					const stored = await uploadArtifact(call, file);
					const version = await call(`${SERVICE.registry}.versions.import`, {
						...(filename !== null ? { fileName: filename } : {}),
						...ctx.params,
						artifact: stored.sha256,
					});
					ctx.meta.$statusCode = 201;
					return version;
				},
			}),

			/**
			 * `POST /api/v1/models/{model}[/versions/{version}]/predict` with `{inputs | instances,
			 * outputs?, id?, parameters?}` → an Open Inference Protocol response, plus the execution
			 * provider and the pipeline steps that ran in `parameters`.
			 */
			predict: requires("predict", {
				params: {
					model: { type: "string", min: 1, max: 256 },
					version: { type: "string", optional: true, max: 128 },
				},
				async handler(ctx: Context<PredictParams, HttpMeta>) {
					return encodeInferenceResponse(await predictionParts(ctx, ctx.params, true));
				},
			}),

			/**
			 * `GET /api/v1/models/{model}/versions/{version}/files/{path}`: the file's bytes, streamed
			 * from the artifacts service in ranged parts (memory stays about one part). `ETag` is the
			 * sha256; `If-None-Match` answers 304; one `Range: bytes=…` answers 206 (416 past the end).
			 */
			downloadFile: requires("models.read", {
				params: {
					model: { type: "string", min: 1, max: 256 },
					version: { type: "string", min: 1, max: 128 },
					path: { type: "string", min: 1, max: 256 },
				},
				async handler(
					ctx: Context<{ model: string; version: string; path: string }, HttpMeta>,
				): Promise<Readable | null> {
					const { model, version, path: name } = ctx.params;
					const listed = await ctx.call<
						{ ref: string; files: VersionFile[] },
						{ model: string; version: string }
					>(`${SERVICE.registry}.versions.files`, { model, version });
					const file = listed.files.find(f => f.path === name);
					if (!file) throw new NotFoundError("file", `${listed.ref}/${name}`);
					// Held by the caller's tenant (NOT_FOUND otherwise), and where its bytes are.
					const stat = await ctx.call<ArtifactStat, { sha256: string }>(
						ARTIFACT_ACTIONS.stat,
						{ sha256: file.sha256 },
					);
					const etag = `"${file.sha256}"`;
					const headers = ctx.meta.download ?? {};
					const common = {
						ETag: etag,
						"Accept-Ranges": "bytes",
						"Cache-Control": "private, max-age=0, must-revalidate",
					};
					if (etagMatches(headers.ifNoneMatch, etag)) {
						ctx.meta.$statusCode = 304;
						ctx.meta.$responseHeaders = common;
						return null;
					}
					const range = chooseRange(headers.range, stat.size, {
						header: headers.ifRange,
						etag,
					});
					if (range.kind === "unsatisfiable")
						throw new RangeNotSatisfiableError(headers.range ?? "", stat.size);
					const start = range.kind === "partial" ? range.start : 0;
					const length = range.kind === "partial" ? range.end - start + 1 : stat.size;
					ctx.meta.$responseType = "application/octet-stream";
					ctx.meta.$responseHeaders = {
						...common,
						"Content-Length": String(length),
						"Content-Disposition": `attachment; filename="${file.path}"`,
						...(range.kind === "partial"
							? { "Content-Range": `bytes ${start}-${range.end}/${stat.size}` }
							: {}),
					};
					if (range.kind === "partial") ctx.meta.$statusCode = 206;
					// Parts outlive this action's own deadline: each has the broker's timeout.
					const meta = {
						tenant: ctx.meta.tenant,
						role: ctx.meta.role,
						keyId: ctx.meta.keyId,
					};
					return artifactReadStream(
						(action, params, options) =>
							this.broker.call(action, params, { ...options, meta }),
						file.sha256,
						{ size: stat.size, offset: start, length, nodeID: stat.nodeID },
					);
				},
			}),

			/** `GET /v2`: server metadata and the protocol extensions served. */
			v2Server: allowAnonymous({
				handler() {
					return {
						name: "modelfleet",
						version: MODELFLEET_VERSION,
						extensions: [BINARY_TENSOR_EXTENSION, MODEL_REPOSITORY_EXTENSION],
					};
				},
			}),

			/** `GET /v2/health/live`. */
			v2Live: allowAnonymous({
				handler(): { live: true } {
					return { live: true };
				},
			}),

			/** `GET /v2/health/ready`: 200 when the services inference needs run in the fleet. */
			v2Ready: allowAnonymous({
				handler(ctx: Context<unknown, HttpMeta>): { ready: boolean } {
					const available = new Set(
						this.broker.registry
							.getServiceList({ onlyAvailable: true, skipInternal: true })
							.map(service => String(service.name)),
					);
					const ready = [...options.neededServices, SERVICE.predictor].every(name =>
						available.has(name),
					);
					if (!ready) ctx.meta.$statusCode = 503;
					return { ready };
				},
			}),

			/** `GET /v2/models/{model}[/versions/{version}]`: model metadata (404 for an unknown one). */
			v2Model: requires("models.read", {
				params: {
					model: { type: "string", min: 1, max: 256 },
					version: { type: "string", optional: true, max: 128 },
				},
				async handler(
					ctx: Context<{ model: string; version?: string }, HttpMeta>,
				): Promise<OipModelMetadata> {
					const version = await ctx.call<
						VersionView,
						{ model: string; version?: string }
					>(`${SERVICE.registry}.versions.get`, oipVersionRef(ctx.params));
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

			/** `GET /v2/models/{model}[/versions/{version}]/ready`: 200 when it exists and a predictor can serve it. */
			v2ModelReady: requires("models.read", {
				params: {
					model: { type: "string", min: 1, max: 256 },
					version: { type: "string", optional: true, max: 128 },
				},
				async handler(ctx: Context<{ model: string; version?: string }, HttpMeta>) {
					const version = await ctx.call<
						VersionView,
						{ model: string; version?: string }
					>(`${SERVICE.registry}.versions.get`, oipVersionRef(ctx.params));
					const ready =
						version.artifact !== null &&
						this.broker.registry
							.getServiceList({ onlyAvailable: true, skipInternal: true })
							.some(service => service.name === SERVICE.predictor);
					if (!ready) ctx.meta.$statusCode = 503;
					return { name: version.model, version: version.version, ready };
				},
			}),

			/**
			 * `POST /v2/models/{model}[/versions/{version}]/infer`: the Open Inference Protocol's
			 * inference, JSON or with binary tensors (the body is read here, after the key is
			 * checked); outputs the request asks for as binary come back after a JSON header.
			 */
			v2Infer: requires("predict", {
				params: {
					model: { type: "string", min: 1, max: 256 },
					version: { type: "string", optional: true, max: 128 },
				},
				async handler(ctx: Context<PredictParams, HttpMeta>): Promise<unknown> {
					const request = await readInferRequest(ctx, maxBodyBytes, maxJsonDepth);
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

			/** `GET /api/openapi.json`: the OpenAPI 3 document of every route, from the routes and the actions' params. */
			openapi: allowAnonymous({
				handler(): unknown {
					const service = this as unknown as { aliases: OpenApiAlias[] };
					const actions = new Map(
						this.broker.registry
							.getActionList({ skipInternal: true })
							.map(item => [item.name, item.action]),
					);
					return buildOpenApiDocument(
						service.aliases,
						name => actions.get(name) as { params?: unknown } | undefined,
						{ title: "modelfleet", version: MODELFLEET_VERSION },
					);
				},
			}),

			/** Liveness: the process answers. */
			live: allowAnonymous({
				visibility: "published",
				handler(): { status: "live"; nodeID: string } {
					return { status: "live", nodeID: this.broker.nodeID };
				},
			}),

			/** Readiness: 200 when every needed service runs somewhere in the fleet, 503 with what is missing otherwise. */
			ready: allowAnonymous({
				visibility: "published",
				handler(ctx: Context<unknown, HttpMeta>): Readiness & { nodeID: string } {
					const available = new Set(
						this.broker.registry
							.getServiceList({ onlyAvailable: true, skipInternal: true })
							.map(service => String(service.name)),
					);
					const readiness = checkReadiness(
						this.broker.started,
						options.neededServices,
						name => available.has(name),
					);
					if (!readiness.ready) ctx.meta.$statusCode = 503;
					return { ...readiness, nodeID: this.broker.nodeID };
				},
			}),

			/** `POST /v2/repository/index` `{ready?}`: each version of the tenant's models and its state. */
			repositoryIndex: requires("models.read", {
				async handler(ctx: Context<unknown, HttpMeta>): Promise<RepositoryModelState[]> {
					const request = parseIndexRequest(
						await readRepositoryBody(ctx, maxBodyBytes, maxJsonDepth),
					);
					return repositoryIndex(repositoryPort(callerOf(ctx)), request);
				},
			}),

			/**
			 * `POST /v2/repository/models/{model}/load` `{parameters?: {config?, "file:<v>/<path>"?,
			 * version?}}`: the model files sent become Validated versions; the version asked for (or
			 * the latest Validated or Deployed) is served by the model's deployment; answers once a
			 * replica is ready.
			 */
			repositoryLoad: requires("deployments.write", {
				params: { model: { type: "string", min: 1, max: 256 } },
				async handler(
					ctx: Context<{ model: string }, HttpMeta>,
				): Promise<RepositoryModelState> {
					const ref = ctx.params.model;
					const request = parseLoadRequest(
						await readRepositoryBody(ctx, maxBodyBytes, maxJsonDepth),
						ref.split("@")[0],
					);
					return loadModel(repositoryPort(callerOf(ctx)), ref, request, {
						timeoutMs: options.repositoryLoadTimeoutMs ?? 20_000,
					});
				},
			}),

			/** `POST /v2/repository/models/{model}/unload`: the model's deployment is deleted. */
			repositoryUnload: requires("deployments.write", {
				params: { model: { type: "string", min: 1, max: 256 } },
				async handler(
					ctx: Context<{ model: string }, HttpMeta>,
				): Promise<RepositoryModelState> {
					await readRepositoryBody(ctx, maxBodyBytes, maxJsonDepth);
					return unloadModel(repositoryPort(callerOf(ctx)), ctx.params.model);
				},
			}),

			/**
			 * `POST /api/v1/models/{model}[/versions/{version}]/batch-predict` with CSV or NDJSON rows
			 * as the body: NDJSON lines out, one per row, as the rows stream through the predictor
			 * in chunks. The version and (for CSV) the header are checked before the answer starts.
			 */
			batchPredict: requires("predict", {
				params: {
					model: { type: "string", min: 1, max: 256 },
					version: { type: "string", optional: true, max: 128 },
					format: { type: "enum", values: [...BATCH_FORMATS], optional: true },
					chunkRows: {
						type: "number",
						integer: true,
						min: 1,
						max: 10_000,
						optional: true,
						convert: true,
					},
				},
				async handler(
					ctx: Context<
						{
							model: string;
							version?: string;
							format?: BatchFormat;
							chunkRows?: number;
						},
						HttpMeta
					>,
				): Promise<Readable> {
					const { model, version, chunkRows } = ctx.params;
					const format = batchFormat(ctx.params.format, ctx.meta.batchContentType);
					const served = await ctx.call<VersionView, { model: string; version?: string }>(
						`${SERVICE.registry}.versions.get`,
						{ model, ...(version !== undefined ? { version } : {}) },
					);
					const input = tabularInput(served.schema, served.ref);
					const body = requestStream(ctx);
					const size = chunkRows ?? options.batchPredict?.chunkRows ?? DEFAULT_CHUNK_ROWS;
					// A shadow version's mirrored call may read a chunk after its answer: then no chunk
					// buffer is filled again (only calls without a version are mirrored).
					const shadowed =
						version === undefined &&
						!model.includes("@") &&
						(fleetViewOf(this.broker).deployment(ctx.meta.tenant ?? "", model)
							?.shadow ?? null) !== null;
					const chunks =
						format === "csv"
							? await csvChunks(body, input, size, { reuseBuffers: !shadowed })
							: rowChunks(ndjsonRows(body, maxJsonDepth), size);
					// Chunk calls outlive this action's own deadline: each has the broker's timeout.
					// One routing key for the batch, so a split deployment answers it with one version.
					// A batch may outlast a signed identity: each chunk's call is signed afresh.
					const scope = scopeOf(ctx);
					const meta = {
						tenant: scope.tenantId,
						role: scope.role,
						keyId: scope.keyId,
						routingKey: ctx.meta.routingKey ?? `batch-${randomUUID()}`,
					};
					const identity = {
						tenant: scope.tenantId,
						role: scope.role,
						keyId: scope.keyId,
					};
					const infer = (payload: ChunkPayload): Promise<InferResult> =>
						this.broker.call<InferResult, PredictParams>(
							`${SERVICE.predictor}.infer`,
							{
								model,
								...(version !== undefined ? { version } : {}),
								...inferParams(payload),
							},
							{ meta: { ...meta, identity: options.trust.sign(identity) } },
						);
					ctx.meta.$responseType = "application/x-ndjson";
					const concurrency = options.batchPredict?.concurrency;
					return Readable.from(
						batchPredictLines(
							chunks,
							infer,
							concurrency !== undefined ? { concurrency } : {},
						),
						{ objectMode: false, highWaterMark: 64 * 1024 },
					);
				},
			}),
		},
	};
}
