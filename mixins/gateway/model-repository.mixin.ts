/**
 * Triton's model repository extension on the gateway (/v2/repository): index, load (with its
 * config and file overrides) and unload, mapped onto the tenant's registry and deployments
 * (lib/http/model-repository/). The body is read by the actions: Triton's clients may send it
 * without a JSON type.
 */
import type { Context, ServiceSchema } from "moleculer";
import { requires } from "../../lib/accounts/access";
import { readOptionalJson } from "../../lib/http/json-body";
import { parseIndexRequest, parseLoadRequest } from "../../lib/http/model-repository/load-request";
import { repositoryIndex } from "../../lib/http/model-repository/repository-index";
import {
	loadModel,
	unloadModel,
	type RepositoryModelState,
} from "../../lib/http/model-repository/repository-load";
import { repositoryPort } from "../../lib/http/model-repository/repository-port";
import { DEFAULT_MAX_JSON_DEPTH } from "../../lib/json-policy";
import { requestStream, type HttpContext } from "./http-context";
import { DEFAULT_MAX_BODY_BYTES, type OipOptions } from "./oip.mixin";

export interface ModelRepositoryOptions extends Pick<OipOptions, "maxBodyBytes" | "maxJsonDepth"> {
	/** How long a model repository load waits for a ready replica before answering 503, ms. Default 20 s. */
	repositoryLoadTimeoutMs?: number;
}

/** Calls an action for the caller of `ctx` (its tenant and role travel in the meta). */
function callerOf(
	ctx: Context,
): (action: string, params: object, options?: object) => Promise<unknown> {
	return (action, params, options) => ctx.call(action, params, options);
}

export function modelRepositoryMixin(options: ModelRepositoryOptions): Partial<ServiceSchema> {
	const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
	const maxJsonDepth = options.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH;

	/** The body of a model repository request: JSON, or nothing. */
	const readBody = (ctx: HttpContext): Promise<unknown> =>
		readOptionalJson(requestStream(ctx), {
			maxDepth: maxJsonDepth,
			limitBytes: maxBodyBytes,
			limitSetting: "MODELFLEET_MAX_BODY_BYTES",
			contentLength: ctx.meta.oipBody?.contentLength,
			contentEncoding: ctx.meta.oipBody?.contentEncoding,
		});

	return {
		actions: {
			/** `POST /v2/repository/index` `{ready?}`: each version of the tenant's models and its state. */
			repositoryIndex: requires("models.read", {
				async handler(ctx: HttpContext): Promise<RepositoryModelState[]> {
					const request = parseIndexRequest(await readBody(ctx));
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
				async handler(ctx: HttpContext<{ model: string }>): Promise<RepositoryModelState> {
					const ref = ctx.params.model;
					const request = parseLoadRequest(await readBody(ctx), ref.split("@")[0]);
					return loadModel(repositoryPort(callerOf(ctx)), ref, request, {
						timeoutMs: options.repositoryLoadTimeoutMs ?? 20_000,
					});
				},
			}),

			/** `POST /v2/repository/models/{model}/unload`: the model's deployment is deleted. */
			repositoryUnload: requires("deployments.write", {
				params: { model: { type: "string", min: 1, max: 256 } },
				async handler(ctx: HttpContext<{ model: string }>): Promise<RepositoryModelState> {
					await readBody(ctx);
					return unloadModel(repositoryPort(callerOf(ctx)), ctx.params.model);
				},
			}),
		},
	};
}
