/**
 * api — the HTTP gateway (moleculer-web): the route table and its wiring. Health endpoints for
 * load balancers and orchestrators; the REST API under /api/v1, where every route needs an API
 * key (`Authorization: Bearer <key>` or `x-api-key`) whose tenant, role and id go into ctx.meta
 * (the services enforce tenancy and roles); the Open Inference Protocol under /v2 (JSON and the
 * binary tensor data extension, Triton's model repository extension); GET /api/openapi.json,
 * generated from the routes and the called actions' parameter schemas. What each surface does
 * lives in a mixin of mixins/gateway/: the caller check (key, rate limit, role) for every keyed
 * route and the direct infer route, the edge in front of moleculer-web, OIP, the model
 * repository, batch predictions, uploads, the training event stream, health.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Context, ServiceSchema } from "moleculer";
import ApiGateway, { type ApiSettingsSchema } from "moleculer-web";
import { allowAnonymous } from "../lib/accounts/access";
import { SERVICE } from "../lib/fleet/node-role";
import { createdLocation } from "../lib/http/created-location";
import { restError } from "../lib/http/error-response";
import { jsonBodyParser } from "../lib/http/json-body";
import { INFERENCE_HEADER_LENGTH } from "../lib/http/oip-binary";
import { oipError } from "../lib/http/oip-http";
import { buildOpenApiDocument, type OpenApiAlias } from "../lib/http/openapi";
import { streamAliasMatcher } from "../lib/http/stream-aliases";
import { DEFAULT_MAX_JSON_DEPTH } from "../lib/json-policy";
import { MODELFLEET_VERSION } from "../lib/version";
import { capturesMixin } from "../mixins/gateway/captures.mixin";
import { downloadHeaders, downloadsMixin } from "../mixins/gateway/downloads.mixin";
import { batchPredictMixin, type BatchPredictOptions } from "../mixins/gateway/batch-predict.mixin";
import { callerMixin, countAnonymous, type CallerOptions } from "../mixins/gateway/caller.mixin";
import { edgeMixin, JSON_BODY_BYTES, type EdgeOptions } from "../mixins/gateway/edge.mixin";
import { grpcMixin, type GrpcOptions } from "../mixins/gateway/grpc.mixin";
import { healthMixin } from "../mixins/gateway/health.mixin";
import type { HttpMeta } from "../mixins/gateway/http-context";
import {
	modelRepositoryMixin,
	type ModelRepositoryOptions,
} from "../mixins/gateway/model-repository.mixin";
import { compressAnswers } from "../lib/http/content-encoding";
import { oipMixin, type OipOptions } from "../mixins/gateway/oip.mixin";
import { tritonMixin } from "../mixins/gateway/triton.mixin";
import {
	trainingEventsMixin,
	type TrainingEventsOptions,
} from "../mixins/gateway/training-events.mixin";
import { uploadsMixin, type UploadsOptions } from "../mixins/gateway/uploads.mixin";
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
}

/** The REST routes of /api/v1: "METHOD path" → action. */
const REST_ALIASES = {
	"GET nodes": `${SERVICE.scheduler}.nodes`,
	"DELETE nodes/:id": `${SERVICE.scheduler}.nodes.forget`,

	"GET tenant": `${SERVICE.accounts}.tenants.get`,
	"GET tenants": `${SERVICE.accounts}.tenants.list`,
	"GET tenants/:id/quotas": `${SERVICE.accounts}.quotas.get`,
	"PUT tenants/:id/quotas": `${SERVICE.accounts}.quotas.set`,
	"GET usage": `${SERVICE.accounts}.usage.get`,
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

	// Durable domain events (docs/events.md): read back, streamed, and sent to webhooks.
	"GET events": `${SERVICE.events}.list`,
	"GET events/stream": `${SERVICE.api}.eventStream`,
	"GET webhooks": `${SERVICE.events}.webhooks.list`,
	"POST webhooks": `${SERVICE.events}.webhooks.create`,
	"GET webhooks/:id": `${SERVICE.events}.webhooks.get`,
	"PATCH webhooks/:id": `${SERVICE.events}.webhooks.update`,
	"DELETE webhooks/:id": `${SERVICE.events}.webhooks.delete`,
	"GET webhooks/:id/deliveries": `${SERVICE.events}.webhooks.deliveries`,
	"POST webhooks/:id/deliveries/:delivery/redeliver": `${SERVICE.events}.webhooks.redeliver`,

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
	// Monitoring (docs/monitoring.md): drift and health windows, captured payloads as NDJSON.
	"GET deployments/:model/drift": `${SERVICE.scheduler}.monitoring.drift`,
	"GET deployments/:model/health": `${SERVICE.scheduler}.monitoring.health`,
	"GET deployments/:model/captures": `${SERVICE.api}.exportCaptures`,
	"POST models/:model/feedback": `${SERVICE.scheduler}.monitoring.feedback`,
	// Predictions as JSON: Open Inference Protocol `inputs` or tabular `instances`.
	"POST models/:model/predict": `${SERVICE.api}.predict`,
	"POST models/:model/versions/:version/predict": `${SERVICE.api}.predict`,
	"POST models/:model/explain": `${SERVICE.predictor}.explain`,
	"POST models/:model/versions/:version/explain": `${SERVICE.predictor}.explain`,
	"POST models/:model/versions/:version/importance": `${SERVICE.predictor}.importance`,
	// Uploads stream through this gateway to the artifacts service part by part (bounded memory).
	"POST artifacts": `stream:${SERVICE.api}.uploadArtifact`,
	"POST models/:model/versions/upload": `stream:${SERVICE.api}.uploadVersion`,
	// Batch predictions: CSV or NDJSON rows streamed in, NDJSON lines streamed out.
	"POST models/:model/batch-predict": `stream:${SERVICE.api}.batchPredict`,
	"POST models/:model/versions/:version/batch-predict": `stream:${SERVICE.api}.batchPredict`,
} as const;

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

	return {
		name: SERVICE.api,
		mixins: [
			ApiGateway,
			// Quota refusals on the gateway are domain events, durable like the others.
			domainEventsMixin(),
			callerMixin(options),
			edgeMixin(options, streamRoutes),
			oipMixin(options),
			modelRepositoryMixin(options),
			tritonMixin(),
			batchPredictMixin(options),
			uploadsMixin(options),
			downloadsMixin(),
			capturesMixin(),
			trainingEventsMixin(options),
			eventsStreamMixin(options),
			healthMixin(options),
			grpcMixin(options),
		],

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
					use: [countAnonymous, compressAnswers],
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
					use: [compressAnswers, restJsonBody],
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
					use: [countAnonymous, compressAnswers],
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
					// Answers are gzip- or deflate-compressed for clients that accept it.
					use: [compressAnswers],
					aliases: {
						// Before ":model": `stats` is the statistics of every model, not a model.
						"GET stats": `${SERVICE.api}.v2Stats`,
						"GET :model/stats": `${SERVICE.api}.v2Stats`,
						"GET :model/versions/:version/stats": `${SERVICE.api}.v2Stats`,
						"GET :model/config": `${SERVICE.api}.v2ModelConfig`,
						"GET :model/versions/:version/config": `${SERVICE.api}.v2ModelConfig`,
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
		},

		actions: {
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
		},
	};
}
