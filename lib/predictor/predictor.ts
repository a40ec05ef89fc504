import { ModelCache, type ModelCacheStats } from "../cache/model-cache";
import type { ModelCacheHooks } from "../cache/model-cache-hooks";
import type { BatchQueueHooks } from "../batching/batch-queue";
import { ModelLoadError, NotFoundError } from "../errors";
import { TtlCache } from "../http/ttl-cache";
import type { VersionView } from "../registry/version-store";
import type { RuntimePool } from "../runtimes/pool/runtime-pool";
import { ServedModel, type InferResult, type ServingOptions } from "./served-model";

/** How the predictor reaches the rest of the fleet; the service provides them, tests fake them. */
export interface PredictorDeps {
	/** The version a reference names, for the caller's tenant (404 for another tenant's). */
	resolveVersion(model: string, version: string | undefined): Promise<VersionView>;
	/** A local file of the blob (null: the fleet does not have it). */
	blobPath(sha256: string): Promise<string | null>;
	pool: RuntimePool | null;
}

export interface PredictorOptions extends ServingOptions {
	/** Memory budget of loaded models. */
	cacheBytes: number;
	/** How long a resolved alias or "latest" is trusted before asking the registry again, ms. */
	resolveTtlMs: number;
}

export interface PredictorHooks {
	cache?: ModelCacheHooks;
	/** Batching hooks, per served version (model, version). */
	queue?: (model: string, version: string) => BatchQueueHooks;
}

/** A reference as a tenant names it; resolved to an exact version per call (aliases move). */
export interface VersionRequest {
	tenant: string;
	model: string;
	version?: string;
}

/**
 * The node's serving heart: resolves a reference to a version, keeps the versions it serves
 * in the LRU model cache (loaded once however many ask at once), and runs requests through
 * each version's validator, pipelines and batching queue.
 */
export class Predictor {
	private readonly cache: ModelCache;
	private readonly resolved: TtlCache<VersionView>;
	private active = 0;

	constructor(
		private readonly options: PredictorOptions,
		private readonly hooks: PredictorHooks = {},
	) {
		this.cache = new ModelCache({
			options: { budgetBytes: options.cacheBytes },
			hooks: hooks.cache,
		});
		this.resolved = new TtlCache(options.resolveTtlMs, 10_000);
	}

	/** The cache key of a version: tenants never share a served model. */
	static key(tenant: string, model: string, version: string): string {
		return `${tenant}/${model}@${version}`;
	}

	async infer(
		deps: PredictorDeps,
		ref: VersionRequest,
		request: unknown,
		deadline?: number,
	): Promise<InferResult> {
		this.active++;
		try {
			const version = await this.resolve(deps, ref);
			const key = Predictor.key(ref.tenant, version.model, version.version);
			// eslint-disable-next-line @typescript-eslint/no-unused-vars -- computeMs stays on this node
			const { computeMs, ...result } = await this.cache.use(
				key,
				() => this.loader(deps, ref.tenant, version)(),
				model => (model as ServedModel).infer(request, deadline),
			);
			return result;
		} finally {
			this.active--;
		}
	}

	/** Requests being served right now (queued or running): the node's live load. */
	get activeRequests(): number {
		return this.active;
	}

	/** Loads a version ahead of requests; pinned ones are never evicted (deployed replicas). */
	async load(
		deps: PredictorDeps,
		ref: VersionRequest,
		pin: boolean,
	): Promise<{ key: string; version: VersionView }> {
		const version = await this.resolve(deps, ref);
		const key = Predictor.key(ref.tenant, version.model, version.version);
		if (pin) this.cache.pin(key);
		await this.cache.load(key, () => this.loader(deps, ref.tenant, version)());
		return { key, version };
	}

	async unload(
		deps: PredictorDeps,
		ref: VersionRequest,
	): Promise<{ key: string; unloaded: boolean }> {
		const version = await this.resolve(deps, ref);
		const key = Predictor.key(ref.tenant, version.model, version.version);
		this.cache.unpin(key);
		return { key, unloaded: await this.cache.unload(key) };
	}

	stats(): ModelCacheStats {
		return this.cache.stats();
	}

	async close(): Promise<void> {
		await this.cache.close();
	}

	private async resolve(deps: PredictorDeps, ref: VersionRequest): Promise<VersionView> {
		const cacheKey = `${ref.tenant}\u0000${ref.model}\u0000${ref.version ?? ""}`;
		const known = this.resolved.get(cacheKey);
		if (known) return known;
		const version = await deps.resolveVersion(ref.model, ref.version);
		this.resolved.set(cacheKey, version);
		return version;
	}

	private loader(
		deps: PredictorDeps,
		tenant: string,
		version: VersionView,
	): () => Promise<ServedModel> {
		return async () => {
			if (!version.artifact) {
				throw new NotFoundError("model file of version", version.ref);
			}
			const filePath = await deps.blobPath(version.artifact.sha256);
			if (filePath === null)
				throw new ModelLoadError(
					version.ref,
					"its model file is not in the fleet's artifact store.",
				);
			return ServedModel.load(
				{
					tenant,
					model: version.model,
					version: version.version,
					format: version.format,
					sha256: version.artifact.sha256,
					schema: version.schema,
					pipeline: version.pipeline,
					labels: version.labels,
					batching: version.serving?.batching ?? {},
				},
				filePath,
				deps.pool,
				this.options,
				this.hooks.queue?.(version.model, version.version) ?? {},
			);
		};
	}
}
