import { ModelCache, type ModelCacheStats } from "../cache/model-cache";
import type { ModelCacheHooks } from "../cache/model-cache-hooks";
import type { BatchQueueHooks } from "../batching/batch-queue";
import { resolveBatchingOptions, type BatchingOptions } from "../batching/batching-options";
import {
	InvalidConfigurationError,
	InvalidInputError,
	ModelLoadError,
	NotFoundError,
} from "../errors";
import { FallbackCache } from "../cache/fallback-cache";
import type { VersionView } from "../registry/version-store";
import type { RuntimePool } from "../runtimes/pool/runtime-pool";
import {
	ServedModel,
	type AnswerObserver,
	type InferResult,
	type InferTiming,
	type ServingOptions,
} from "./served-model";
import { OngoingRequests } from "./ongoing-requests";

/** How the predictor reaches the rest of the fleet; the service provides them, tests fake them. */
export interface PredictorDeps {
	/** The version a reference names, for the caller's tenant (404 for another tenant's). */
	resolveVersion(model: string, version: string | undefined): Promise<VersionView>;
	/** A local file of the blob (null: the fleet does not have it). */
	blobPath(sha256: string): Promise<string | null>;
	pool: RuntimePool | null;
	/** Told which version a request resolved to, before it runs (metering counts failures under it). */
	resolved?(version: VersionView): void;
}

export interface PredictorOptions extends ServingOptions {
	/** Memory budget of loaded models. */
	cacheBytes: number;
	/** How long a resolved alias or "latest" is trusted before asking the registry again, ms. */
	resolveTtlMs: number;
	/**
	 * How long a resolved version keeps serving while the registry cannot answer (no control
	 * node), ms after the registry last confirmed it; default 0: never (lib/cache/fallback-cache.ts).
	 * Past `resolveTtlMs` the registry is asked again behind the request, which is not held up.
	 */
	controlOutageMs?: number;
	/** Told when versions start (or stop) being served from older answers. */
	onControlOutage?: (down: boolean, err?: unknown) => void;
}

export interface PredictorHooks {
	cache?: ModelCacheHooks;
	/** Batching hooks, per served version (model, version). */
	queue?: (tenant: string, model: string, version: string) => BatchQueueHooks;
	/**
	 * An infer request for a resolved version ended (statistics): succeeded with its rows and
	 * where its time went, or failed. Requests for a version that does not resolve are not told.
	 */
	served?: (event: ServedEvent) => void;
}

export interface ServedEvent {
	tenant: string;
	model: string;
	version: string;
	ok: boolean;
	/** The whole request on this node, resolution included, ms. */
	totalMs: number;
	rows: number;
	timing: InferTiming;
}

/**
 * Batching settings a `load` gives for one node, over the version's own (a deployment's
 * settings); each field left out keeps the version's (or the node's default).
 */
export type BatchingOverride = Partial<
	Pick<
		BatchingOptions,
		"enabled" | "maxBatchSize" | "maxQueueDelayMicros" | "maxQueueSize" | "preferredBatchSizes"
	>
>;

/** One loaded version's live load, for routing and autoscaling (`Predictor.servingLoad`). */
export interface ServedVersionLoad {
	/** The cache key: `tenant/model@version`. */
	key: string;
	tenant: string;
	model: string;
	/** The exact version (never an alias). */
	version: string;
	/** Deployed here: never evicted. */
	pinned: boolean;
	/** What the model cache budgets for it. */
	bytes: number;
	/** Requests for this version being served now: queued, running, or waiting for its load. */
	active: number;
	/** Of those, requests waiting in its batching queue. */
	queued: number;
	/** `active` averaged over about the last second: the autoscaling signal. */
	ongoing: number;
}

export interface LoadResult {
	key: string;
	version: VersionView;
	/** The batching settings in force for the version on this node now. */
	batching: Readonly<BatchingOptions>;
}

export interface UnloadResult {
	key: string;
	/** The model was resident and has been evicted and disposed. */
	unloaded: boolean;
	/** It was pinned and no longer is. */
	unpinned: boolean;
}

/** What a predictor logs when the registry stops (or starts again) answering. */
export function registryOutageMessage(down: boolean): string {
	return down
		? "The registry cannot be reached: versions are served as it last resolved them until a control node answers."
		: "The registry answers again: versions are resolved by it.";
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
	private readonly resolved: FallbackCache<VersionView>;
	private active = 0;
	/** Requests in progress per version key (resolved, not finished). */
	private readonly ongoing = new OngoingRequests();
	/** Batching overrides given by `load`, per version key, until unpinned or unloaded. */
	private readonly overrides = new Map<string, BatchingOverride>();

	constructor(
		private readonly options: PredictorOptions,
		private readonly hooks: PredictorHooks = {},
	) {
		this.cache = new ModelCache({
			options: { budgetBytes: options.cacheBytes },
			hooks: hooks.cache,
		});
		this.resolved = new FallbackCache<VersionView>({
			freshMs: options.resolveTtlMs,
			staleMs: options.controlOutageMs ?? 0,
			// A request holding an answer never waits for the registry: the refresh runs behind
			// it. The gateway may already have waited for accounts on the same request.
			waitMs: 0,
			maxEntries: 10_000,
			...(options.onControlOutage ? { onOutage: options.onControlOutage } : {}),
		});
	}

	/** The cache key of a version: tenants never share a served model. */
	static key(tenant: string, model: string, version: string): string {
		return `${tenant}/${model}@${version}`;
	}

	/** `use` with the model's own infer, written out: the hottest path keeps one async frame fewer. */
	async infer(
		deps: PredictorDeps,
		ref: VersionRequest,
		request: unknown,
		deadline?: number,
		observe?: AnswerObserver,
	): Promise<InferResult> {
		this.active++;
		let key: string | undefined;
		const started = performance.now();
		let version: VersionView | undefined;
		const timing: InferTiming = { inputMs: 0, outputMs: 0 };
		try {
			const resolved = await this.resolve(deps, ref);
			version = resolved;
			deps.resolved?.(resolved);
			key = Predictor.key(ref.tenant, resolved.model, resolved.version);
			this.ongoing.begin(key);
			const result = await this.cache.use(
				key,
				() => this.loader(deps, ref.tenant, resolved)(),
				model => (model as ServedModel).infer(request, deadline, timing, observe),
			);
			this.tellServed(ref.tenant, resolved, true, started, result.rows, timing);
			return result;
		} catch (err) {
			if (version !== undefined)
				this.tellServed(ref.tenant, version, false, started, 0, timing);
			throw err;
		} finally {
			this.active--;
			if (key !== undefined) this.ongoing.end(key);
		}
	}

	private tellServed(
		tenant: string,
		version: VersionView,
		ok: boolean,
		started: number,
		rows: number,
		timing: InferTiming,
	): void {
		const served = this.hooks.served;
		if (served === undefined) return;
		try {
			served({
				tenant,
				model: version.model,
				version: version.version,
				ok,
				totalMs: performance.now() - started,
				rows,
				timing,
			});
		} catch {
			// Statistics must never break serving.
		}
	}

	/**
	 * Runs `work` on the version a reference names, loaded here as `infer` loads it (and
	 * counted as a request in progress meanwhile): explanations.
	 */
	async use<T>(
		deps: PredictorDeps,
		ref: VersionRequest,
		work: (model: ServedModel, version: VersionView) => Promise<T>,
	): Promise<T> {
		this.active++;
		let key: string | undefined;
		try {
			const version = await this.resolve(deps, ref);
			key = Predictor.key(ref.tenant, version.model, version.version);
			this.ongoing.begin(key);
			return await this.cache.use(
				key,
				() => this.loader(deps, ref.tenant, version)(),
				model => work(model as ServedModel, version),
			);
		} finally {
			this.active--;
			if (key !== undefined) this.ongoing.end(key);
		}
	}

	/** Requests being served right now (queued or running): the node's live load. */
	get activeRequests(): number {
		return this.active;
	}

	/**
	 * Loads a version ahead of requests; pinned ones are never evicted (deployed replicas).
	 * `batching`, when given, replaces any earlier override for this node: it applies over the
	 * version's own settings, now if the version is already loaded (its queue is reconfigured
	 * live, keeping what waits) and at every later load, until the version is unpinned or
	 * unloaded here.
	 * @throws InvalidInputError when the settings are wrong (e.g. a preferred batch size above
	 *   maxBatchSize); nothing is loaded or changed then
	 */
	async load(
		deps: PredictorDeps,
		ref: VersionRequest,
		pin: boolean,
		batching?: BatchingOverride,
	): Promise<LoadResult> {
		const version = await this.resolve(deps, ref);
		const key = Predictor.key(ref.tenant, version.model, version.version);
		if (batching !== undefined) {
			this.checkBatching(version, batching);
			this.overrides.set(key, { ...batching });
		}
		if (pin) this.cache.pin(key);
		await this.cache.load(key, () => this.loader(deps, ref.tenant, version)());
		const served = this.cache.peek(key) as ServedModel | undefined;
		// A load already under way (an on-demand one) may have read older settings.
		if (served !== undefined && batching !== undefined)
			served.setBatching(this.batchingOf(key, version));
		return {
			key,
			version,
			batching: served?.batching ?? resolveBatchingOptions(this.queueOptions(key, version)),
		};
	}

	/**
	 * Undoes a `load` on this node. With `unpin`, the version only becomes evictable (the LRU
	 * evicts it when the memory is needed; it serves meanwhile); otherwise it is unpinned,
	 * evicted and disposed now, after the requests running on it. Either way the batching
	 * override of its `load` is forgotten: a later load uses the version's own settings.
	 */
	async unload(
		deps: PredictorDeps,
		ref: VersionRequest,
		options: { unpin?: boolean } = {},
	): Promise<UnloadResult> {
		const version = await this.resolve(deps, ref);
		const key = Predictor.key(ref.tenant, version.model, version.version);
		const unpinned = this.cache.isPinned(key);
		this.overrides.delete(key);
		if (options.unpin) {
			this.cache.unpin(key);
			return { key, unloaded: false, unpinned };
		}
		this.cache.unpin(key);
		return { key, unloaded: await this.cache.unload(key), unpinned };
	}

	stats(): ModelCacheStats {
		return this.cache.stats();
	}

	/** Every loaded version with its live load, least recently used first. */
	servingLoad(): ServedVersionLoad[] {
		return this.cache.resident().map(entry => {
			const served = entry.model as ServedModel;
			const { tenant, model, version } = served.info;
			return {
				key: entry.key,
				tenant,
				model,
				version,
				pinned: entry.pinned,
				bytes: entry.bytes,
				active: Math.max(this.ongoing.current(entry.key), served.active),
				ongoing: this.ongoing.average(entry.key),
				queued: served.pending,
			};
		});
	}

	async close(): Promise<void> {
		await this.cache.close();
	}

	/** The version a reference names; while the registry cannot answer, as it last did. */
	private resolve(deps: PredictorDeps, ref: VersionRequest): Promise<VersionView> {
		const cacheKey = `${ref.tenant}\u0000${ref.model}\u0000${ref.version ?? ""}`;
		return this.resolved.get(cacheKey, () => deps.resolveVersion(ref.model, ref.version));
	}

	/** The version's own batching settings with this node's override over them. */
	private batchingOf(key: string, version: VersionView): BatchingOverride {
		return { ...(version.serving?.batching ?? {}), ...(this.overrides.get(key) ?? {}) };
	}

	/** What a queue for the version is built from: node defaults, the version's, the override. */
	private queueOptions(key: string, version: VersionView): Partial<BatchingOptions> {
		return { ...this.options.batching, ...this.batchingOf(key, version) };
	}

	/** Refuses settings that would not make a valid queue, as the caller's mistake (400). */
	private checkBatching(version: VersionView, batching: BatchingOverride): void {
		try {
			resolveBatchingOptions({
				...this.options.batching,
				...(version.serving?.batching ?? {}),
				...batching,
			});
		} catch (error) {
			if (!(error instanceof InvalidConfigurationError)) throw error;
			const { problems } = error.data as {
				problems: { setting: string; problem: string }[];
			};
			throw new InvalidInputError(
				`Invalid batching settings for ${version.ref}: ${problems.map(p => `${p.setting}: ${p.problem}`).join("; ")}.`,
				{ where: "batching", problems },
			);
		}
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
					batching: this.batchingOf(
						Predictor.key(tenant, version.model, version.version),
						version,
					),
				},
				filePath,
				deps.pool,
				this.options,
				this.hooks.queue?.(tenant, version.model, version.version) ?? {},
			);
		};
	}
}
