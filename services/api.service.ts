/**
 * api — the HTTP gateway (moleculer-web): the route table and its wiring. Health endpoints for
 * load balancers and orchestrators; the REST API under /api/v1, where every route needs an API
 * key (`Authorization: Bearer <key>` or `x-api-key`) whose tenant, role and id go into ctx.meta
 * (the services enforce tenancy and roles); the Open Inference Protocol under /v2 (JSON and the
 * binary tensor data extension, Triton's model repository extension); GET /api/openapi.json,
 * generated from the routes, the declaration written beside each alias (`documented(…)`) and the
 * called actions' parameter schemas, and its Swagger UI at /docs. What each surface does
 * lives in a mixin of mixins/gateway/: the caller check (key, rate limit, role) for every keyed
 * route and the direct infer route, the edge in front of moleculer-web, OIP, the model
 * repository, batch predictions, uploads, the training event stream, health.
 */
import type * as net from "node:net";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Context, ServiceSchema } from "moleculer";
import ApiGateway, { type ApiSettingsSchema } from "moleculer-web";
import { SERVICE } from "../lib/fleet/node-role";
import { createdLocation } from "../lib/http/created-location";
import { restError } from "../lib/http/error-response";
import { jsonBodyParser } from "../lib/http/json-body";
import { INFERENCE_HEADER_LENGTH } from "../lib/http/oip-binary";
import { oipError } from "../lib/http/oip-http";
import { documented, json, schemaRef } from "../lib/http/openapi/declarations";
import {
	OIP_MODEL_ROUTES,
	OIP_PUBLIC_ROUTES,
	REPOSITORY_ROUTES,
} from "../lib/http/routes/oip-routes";
import { CREATED_ACTIONS, REST_ROUTES } from "../lib/http/routes/rest-routes";
import { streamAliasMatcher } from "../lib/http/stream-aliases";
import { DEFAULT_MAX_JSON_DEPTH } from "../lib/json-policy";
import { API_DOCS_PATH } from "../lib/http/api-docs";
import { apiDocsMixin } from "../mixins/gateway/api-docs.mixin";
import { consoleMixin, noteConsoleRequest } from "../mixins/gateway/console.mixin";
import { capturesMixin } from "../mixins/gateway/captures.mixin";
import { downloadHeaders, downloadsMixin } from "../mixins/gateway/downloads.mixin";
import { batchPredictMixin, type BatchPredictOptions } from "../mixins/gateway/batch-predict.mixin";
import { callerMixin, countAnonymous, type CallerOptions } from "../mixins/gateway/caller.mixin";
import {
	edgeMixin,
	gatewayByteBudget,
	JSON_BODY_BYTES,
	type EdgeOptions,
} from "../mixins/gateway/edge.mixin";
import { grpcMixin, type GrpcOptions } from "../mixins/gateway/grpc.mixin";
import { healthMixin } from "../mixins/gateway/health.mixin";
import type { HttpMeta } from "../mixins/gateway/http-context";
import {
	applyIdempotencyKeyHeader,
	applyReplayedHeader,
	IDEMPOTENT_CREATES,
} from "../lib/http/idempotency-key-header";
import type { ReplayMeta } from "../lib/model-spec/version-idempotency";
import { applyRootCallOptions } from "../lib/observability/http-request";
import {
	modelRepositoryMixin,
	type ModelRepositoryOptions,
} from "../mixins/gateway/model-repository.mixin";
import { compressAnswers } from "../lib/http/content-encoding";
import { gatewayReadiness, oipMixin, type OipOptions } from "../mixins/gateway/oip.mixin";
import { tritonMixin } from "../mixins/gateway/triton.mixin";
import {
	trainingEventsMixin,
	type TrainingEventsOptions,
} from "../mixins/gateway/training-events.mixin";
import { uploadsMixin, type UploadsOptions } from "../mixins/gateway/uploads.mixin";
import { studyEventsMixin } from "../mixins/gateway/study-events.mixin";
import { domainEventsMixin } from "../mixins/domain-events.mixin";
import { eventsStreamMixin, type EventsStreamOptions } from "../mixins/gateway/events-stream.mixin";

/** The gateway's options: each mixin's, and where it listens. */
export interface ApiServiceOptions
	extends
		CallerOptions,
		EdgeOptions,
		OipOptions,
		ModelRepositoryOptions,
		BatchPredictOptions,
		UploadsOptions,
		TrainingEventsOptions,
		EventsStreamOptions,
		Omit<GrpcOptions, "host" | "https"> {
	host: string;
	port: number;
	/** A PEM certificate and key: the gateway serves HTTPS (the direct /v2 infer route too). Default: HTTP. */
	https?: { cert: Buffer; key: Buffer } | null;
	/**
	 * Listen with SO_REUSEPORT, so that the serving threads of an all-in-one node each listen on
	 * the node's port and the kernel shares the connections out (nodes/serving-threads.ts).
	 */
	reusePort?: boolean;
	/**
	 * Services to see in the fleet before listening (Moleculer's `dependencies`): a serving thread
	 * shares its port with the main thread, so the kernel sends it connections the moment it
	 * listens, and it must know the control services by then. Default none.
	 */
	listenAfter?: readonly string[];
}

/** The REST routes of /api/v1, each documented beside its alias (lib/http/routes/, by area). */
const REST_ALIASES = REST_ROUTES;

/** The /api/v1 requests that go to `stream:` (upload) actions: the JSON parser leaves them alone. */
const isStreamRequest = streamAliasMatcher(REST_ALIASES);
const JSON_TYPE = /^application\/([\w.+-]*\+)?json\b/i;

export function apiService(options: ApiServiceOptions): ServiceSchema<ApiSettingsSchema> {
	// Long because it is the gateway's schema (a declaration, not a procedure): its settings are
	// the table of routes and aliases the mixins serve; the code in it is a few short hooks.
	// The REST routes' JSON bodies, under the one decoding policy (lib/json-policy.ts).
	const restJsonBody = jsonBodyParser({
		limitBytes: JSON_BODY_BYTES,
		limitSetting: "the 1 MiB limit of /api/v1 JSON bodies",
		maxDepth: options.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH,
		applies: req =>
			JSON_TYPE.test(req.headers["content-type"] ?? "") &&
			!isStreamRequest(
				req.method,
				(req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url,
			),
	});
	const streamRoutes = {
		stream: isStreamRequest,
		file: streamAliasMatcher({
			"POST artifacts": REST_ALIASES["POST artifacts"],
			"POST models/:model/versions/upload":
				REST_ALIASES["POST models/:model/versions/upload"],
		}),
		dataset: streamAliasMatcher({ "POST datasets": REST_ALIASES["POST datasets"] }),
	};

	const readiness = gatewayReadiness(options);
	const budget = gatewayByteBudget(options);

	return {
		name: SERVICE.api,
		...(options.listenAfter && options.listenAfter.length > 0
			? { dependencies: [...options.listenAfter] }
			: {}),
		mixins: [
			ApiGateway,
			// Quota refusals on the gateway are domain events, durable like the others.
			domainEventsMixin(),
			callerMixin(options),
			edgeMixin(options, streamRoutes, budget),
			oipMixin(options, readiness),
			modelRepositoryMixin(options),
			tritonMixin(),
			batchPredictMixin(options),
			uploadsMixin(options),
			downloadsMixin(),
			capturesMixin(),
			trainingEventsMixin(options),
			studyEventsMixin(options),
			eventsStreamMixin(options),
			healthMixin(readiness),
			grpcMixin(options, budget),
			apiDocsMixin(),
			consoleMixin(),
		],

		settings: {
			// moleculer-web listens on `ip` (its default 0.0.0.0): HOST must reach it there.
			ip: options.host,
			port: options.port,
			...(options.https ? { https: options.https } : {}),
			// Trace and request id of each request, noted by the edge (mixins/gateway/edge.mixin.ts).
			rootCallOptions:
				applyRootCallOptions as unknown as ApiSettingsSchema["rootCallOptions"],
			routes: [
				{
					// The OpenAPI document of every route below, for tools and clients (no key).
					path: "/api",
					mappingPolicy: "restrict",
					aliases: {
						"GET openapi.json": documented(`${SERVICE.api}.openapi`, {
							tag: "API description",
							summary: "This OpenAPI document",
							responses: {
								200: json("OpenAPI 3.1, as JSON.", schemaRef("OpenApiDocument")),
							},
							errors: [429],
						}),
					},
					bodyParsers: false,
					use: [countAnonymous, compressAnswers],
				},
				{
					// Swagger UI for this document, served from the installed package (offline).
					path: API_DOCS_PATH,
					mappingPolicy: "restrict",
					aliases: {
						"GET /": documented(`${SERVICE.api}.docsPage`, {
							tag: "API description",
							summary: "Swagger UI",
							responses: {
								200: {
									description: "The page that renders this document.",
									content: { "text/html": { type: "string" } },
								},
							},
							errors: [429],
						}),
						"GET :file": documented(`${SERVICE.api}.docsFile`, {
							tag: "API description",
							summary: "A file of the Swagger UI page",
							responses: {
								200: {
									description: "A script, style sheet or icon.",
									content: {
										"text/javascript": { type: "string" },
										"text/css": { type: "string" },
										"image/png": { type: "string", format: "binary" },
									},
								},
							},
							errors: [404, 429],
						}),
					},
					bodyParsers: false,
					use: [countAnonymous, compressAnswers],
				},
				{
					// The web console (docs/console.md): its page at / and its hashed files, no key.
					path: "/",
					mappingPolicy: "restrict",
					aliases: {
						"GET /": documented(`${SERVICE.api}.consolePage`, {
							tag: "Console",
							summary: "The web console",
							responses: {
								200: {
									description: "The console's page (it asks for an API key).",
									content: { "text/html": { type: "string" } },
								},
								304: { description: "The page is unchanged (If-None-Match)." },
							},
							errors: [429],
						}),
						"GET console/:file": documented(`${SERVICE.api}.consoleFile`, {
							tag: "Console",
							summary: "A file of the web console",
							responses: {
								200: {
									description:
										"The console's script or style sheet (hashed name, immutable).",
									content: {
										"text/javascript": { type: "string" },
										"text/css": { type: "string" },
									},
								},
								304: { description: "The file is unchanged (If-None-Match)." },
							},
							errors: [404, 429],
						}),
					},
					bodyParsers: false,
					use: [countAnonymous],
					onBeforeCall: noteConsoleRequest,
				},
				{
					path: "/health",
					mappingPolicy: "restrict",
					bodyParsers: false,
					aliases: {
						"GET live": documented(`${SERVICE.api}.live`, {
							tag: "Health",
							summary: "Liveness",
							responses: { 200: json("The process answers.", schemaRef("Live")) },
						}),
						"GET ready": documented(`${SERVICE.api}.ready`, {
							tag: "Health",
							summary: "Readiness",
							responses: {
								200: json(
									"Every service this node needs runs in the fleet.",
									schemaRef("Ready"),
								),
								503: json(
									"A needed service is missing: which.",
									schemaRef("Ready"),
								),
							},
						}),
					},
				},
				{
					path: "/api/v1",
					mappingPolicy: "restrict",
					authentication: true,
					// JSON bodies are read by our parser (depth, NUL, UTF-8), not moleculer-web's.
					bodyParsers: false,
					use: [compressAnswers, restJsonBody],
					aliases: REST_ALIASES,
					onBeforeCall(
						ctx: Context<unknown, HttpMeta>,
						_route: unknown,
						req: IncomingMessage & {
							$alias?: { action?: string };
							$params?: Record<string, unknown>;
						},
					) {
						// A version create sent again with its Idempotency-Key makes no second version.
						if (IDEMPOTENT_CREATES.has(req.$alias?.action ?? "") && req.$params)
							applyIdempotencyKeyHeader(req.headers, req.$params);
						// A batch prediction reads its body itself, as CSV or NDJSON by its type.
						if (req.$alias?.action === `${SERVICE.api}.batchPredict`)
							ctx.meta.batchContentType = req.headers["content-type"];
						if (req.$alias?.action === `${SERVICE.api}.downloadFile`)
							ctx.meta.download = downloadHeaders(req);
						// The usage report answers CSV for `Accept: text/csv`.
						if (req.$alias?.action === `${SERVICE.accounts}.usage.get`)
							(ctx.meta as { accept?: string }).accept = req.headers.accept;
						// An event stream resumes after the last event its client got.
						if (req.$alias?.action === `${SERVICE.api}.eventStream`) {
							const last = req.headers["last-event-id"];
							if (typeof last === "string" && last !== "")
								(ctx.meta as { lastEventId?: string }).lastEventId = last;
						}
						// Uploads take a raw body or a multipart form.
						ctx.meta.uploadContentType = req.headers["content-type"];
					},
					onAfterCall(
						ctx: Context<unknown, HttpMeta & ReplayMeta & { $location?: string }>,
						_route: unknown,
						req: IncomingMessage & {
							method?: string;
							originalUrl?: string;
							$action?: { name?: string };
						},
						res: ServerResponse,
						data: unknown,
					) {
						// A version create its Idempotency-Key answered from an earlier request says so.
						applyReplayedHeader(ctx.meta, res);
						// A create answers 201 Created with where the new thing is, as its route documents.
						if (req.method === "POST" && CREATED_ACTIONS.has(req.$action?.name ?? ""))
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
					use: [countAnonymous, compressAnswers],
					aliases: OIP_PUBLIC_ROUTES,
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
					// Answers are gzip- or deflate-compressed for clients that accept it.
					use: [compressAnswers],
					aliases: OIP_MODEL_ROUTES,
					onBeforeCall(
						ctx: Context<unknown, HttpMeta>,
						_route: unknown,
						req: IncomingMessage,
					) {
						ctx.meta.oipBody = {
							headerLength: req.headers[INFERENCE_HEADER_LENGTH],
							contentLength: req.headers["content-length"],
							contentEncoding: req.headers["content-encoding"],
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
					use: [compressAnswers],
					aliases: REPOSITORY_ROUTES,
					onBeforeCall(
						ctx: Context<unknown, HttpMeta>,
						_route: unknown,
						req: IncomingMessage,
					) {
						ctx.meta.oipBody = {
							contentLength: req.headers["content-length"],
							contentEncoding: req.headers["content-encoding"],
						};
					},
					onError: oipError,
				},
			],

			onError: restError,
		},

		created() {
			// After moleculer-web's own `created`, which makes the HTTP server.
			this.guardRequests();
			if (options.reusePort === true) listenSharingPort(this.server as net.Server);
		},
	};
}

/**
 * Makes moleculer-web's `listen(port, host, callback)` listen with SO_REUSEPORT: moleculer-web
 * takes no listen options of its own.
 */
function listenSharingPort(server: net.Server): void {
	const listen = server.listen.bind(server);
	server.listen = ((port: number, host: string, callback?: () => void) =>
		listen({ port, host, reusePort: true }, callback)) as typeof server.listen;
}
