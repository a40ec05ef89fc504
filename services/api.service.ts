/**
 * api — the HTTP gateway (moleculer-web). Health endpoints for load balancers and
 * orchestrators, and the REST API under /api/v1, where every route needs an API key
 * (`Authorization: Bearer <key>` or `x-api-key`). The key's tenant, role and id go into
 * ctx.meta; the services enforce tenancy and roles. Later issues add the Open Inference
 * Protocol under /v2 and rate limits here.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Context, ServiceSchema } from "moleculer";
import ApiGateway, { type ApiSettingsSchema } from "moleculer-web";
import type { Readable } from "node:stream";
import { requires, type RequestMeta } from "../lib/accounts/access";
import { uploadArtifact } from "../lib/artifacts/artifact-upload";
import type { StoredArtifact } from "../lib/artifacts/artifact-protocol";
import type { Identity } from "../lib/accounts/accounts-store";
import { InvalidInputError, UnauthenticatedError } from "../lib/errors";
import { encodeInferenceResponse } from "../lib/inference/response-encoder";
import type { InferResult } from "../lib/predictor/served-model";
import { MODEL_FORMATS } from "../lib/registry/model-schema";
import { VERSION_BUMPS } from "../lib/registry/version-number";
import { SERVICE } from "../lib/fleet/node-role";
import { checkReadiness, type Readiness } from "../lib/health/readiness";
import { apiKeyFromHeaders } from "../lib/http/api-key-header";
import { toErrorResponse } from "../lib/http/error-response";
import { createdLocation } from "../lib/http/created-location";
import { modelMetadata, type OipModelMetadata } from "../lib/http/oip-metadata";
import { oipError, oipVersionRef } from "../lib/http/oip-http";
import { MODELFLEET_VERSION } from "../lib/version";
import type { VersionView } from "../lib/registry/version-store";
import { TtlCache } from "../lib/http/ttl-cache";

export interface ApiServiceOptions {
	host: string;
	port: number;
	/** Services that must be available in the fleet for this gateway to be ready. */
	neededServices: readonly string[];
	/** How long an authenticated key is trusted without asking accounts again (a revoked key works this long). */
	keyCacheMs?: number;
}

interface HttpMeta extends RequestMeta {
	$statusCode?: number;
}

/** The REST routes of /api/v1: "METHOD path" → action. */
const REST_ALIASES = {
	"GET nodes": `${SERVICE.scheduler}.nodes`,

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
	"GET audit": `${SERVICE.registry}.audit.list`,
	// Predictions as JSON: Open Inference Protocol `inputs` or tabular `instances`.
	"POST models/:model/predict": `${SERVICE.api}.predict`,
	"POST models/:model/versions/:version/predict": `${SERVICE.api}.predict`,
	// Uploads stream through this gateway to the artifacts service part by part (bounded memory).
	"POST artifacts": `stream:${SERVICE.api}.uploadArtifact`,
	"POST models/:model/versions/upload": `stream:${SERVICE.api}.uploadVersion`,
} as const;

type PredictParams = Record<string, unknown> & { model: string; version?: string };

/**
 * Runs a prediction through the predictor and answers it in Open Inference Protocol form;
 * `parameters` says which execution provider ran (and, with `steps`, the pipeline steps).
 */
async function predictResponse(
	ctx: Context<PredictParams, HttpMeta>,
	params: PredictParams,
	steps: boolean,
) {
	const result = await ctx.call<InferResult, PredictParams>(`${SERVICE.predictor}.infer`, params);
	return encodeInferenceResponse({
		modelName: result.modelName,
		modelVersion: result.modelVersion,
		id: result.id,
		parameters: {
			...(result.parameters ?? {}),
			execution_provider: result.executionProvider,
			...(steps ? { pipeline_steps: result.steps } : {}),
		},
		outputs: result.outputs,
	});
}

/** The request body of a `stream:` route. */
function requestStream(ctx: Context): Readable {
	const stream = (ctx as unknown as { stream?: Readable | null }).stream;
	if (!stream) throw new InvalidInputError("Send the file as the request body.");
	return stream;
}

export function apiService(options: ApiServiceOptions): ServiceSchema<ApiSettingsSchema> {
	const identities = new TtlCache<Identity>(options.keyCacheMs ?? 10_000, 10_000);

	return {
		name: SERVICE.api,
		mixins: [ApiGateway],

		settings: {
			host: options.host,
			port: options.port,
			routes: [
				{
					path: "/health",
					mappingPolicy: "restrict",
					aliases: {
						"GET live": `${SERVICE.api}.live`,
						"GET ready": `${SERVICE.api}.ready`,
					},
				},
				{
					path: "/api/v1",
					mappingPolicy: "restrict",
					authentication: true,
					bodyParsers: { json: { limit: "1mb" } },
					aliases: REST_ALIASES,
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
					bodyParsers: { json: { limit: "64mb" } },
					aliases: {
						"GET :model": `${SERVICE.api}.v2Model`,
						"GET :model/versions/:version": `${SERVICE.api}.v2Model`,
						"GET :model/ready": `${SERVICE.api}.v2ModelReady`,
						"GET :model/versions/:version/ready": `${SERVICE.api}.v2ModelReady`,
						"POST :model/infer": `${SERVICE.api}.v2Infer`,
						"POST :model/versions/:version/infer": `${SERVICE.api}.v2Infer`,
					},
					onError: oipError,
				},
			],

			onError(
				this: { logger: { error(...args: unknown[]): void } },
				_req: IncomingMessage,
				res: ServerResponse,
				err: unknown,
			) {
				const { status, body } = toErrorResponse(err);
				if (status >= 500 && status !== 503) this.logger.error("Request failed:", err);
				res.writeHead(status, { "Content-Type": "application/json; charset=utf-8" });
				res.end(JSON.stringify(body));
			},
		},

		methods: {
			/** moleculer-web's hook: the key → its identity, put into ctx.meta for every call after. */
			async authenticate(
				ctx: Context<unknown, HttpMeta>,
				_route: unknown,
				req: IncomingMessage,
			): Promise<Identity> {
				const key = apiKeyFromHeaders(req.headers);
				if (key === null) throw new UnauthenticatedError();
				let identity = identities.get(key);
				if (identity === undefined) {
					identity = await ctx.call<Identity, { key: string }>(
						`${SERVICE.accounts}.authenticate`,
						{ key },
					);
					identities.set(key, identity);
				}
				ctx.meta.tenant = identity.tenant;
				ctx.meta.role = identity.role;
				ctx.meta.keyId = identity.keyId;
				return identity;
			},
		},

		actions: {
			/** `POST /api/v1/artifacts` with the file as the body → `{sha256, size, created}`. */
			uploadArtifact: requires("models.write", {
				async handler(ctx: Context<unknown, HttpMeta>): Promise<StoredArtifact> {
					const stored = await uploadArtifact(
						(a, p, o) => ctx.call(a, p, o),
						requestStream(ctx),
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
					const stored = await uploadArtifact(
						(a, p, o) => ctx.call(a, p, o),
						requestStream(ctx),
					);
					const version = await ctx.call(`${SERVICE.registry}.versions.import`, {
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
				handler(ctx: Context<PredictParams, HttpMeta>) {
					return predictResponse(ctx, ctx.params, true);
				},
			}),

			/** `GET /v2`: server metadata and the protocol extensions served. */
			v2Server: {
				handler() {
					return {
						name: "modelfleet",
						version: MODELFLEET_VERSION,
						extensions: [] as string[],
					};
				},
			},

			/** `GET /v2/health/live`. */
			v2Live: {
				handler(): { live: true } {
					return { live: true };
				},
			},

			/** `GET /v2/health/ready`: 200 when the services inference needs run in the fleet. */
			v2Ready: {
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
			},

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

			/** `POST /v2/models/{model}[/versions/{version}]/infer`: the Open Inference Protocol's inference. */
			v2Infer: requires("predict", {
				params: {
					model: { type: "string", min: 1, max: 256 },
					version: { type: "string", optional: true, max: 128 },
				},
				handler(ctx: Context<PredictParams, HttpMeta>) {
					return predictResponse(
						ctx,
						{ ...ctx.params, ...oipVersionRef(ctx.params) },
						false,
					);
				},
			}),

			/** Liveness: the process answers. */
			live: {
				visibility: "published",
				handler(): { status: "live"; nodeID: string } {
					return { status: "live", nodeID: this.broker.nodeID };
				},
			},

			/** Readiness: 200 when every needed service runs somewhere in the fleet, 503 with what is missing otherwise. */
			ready: {
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
			},
		},
	};
}
