/**
 * The per-node cache of loaded model versions: least recently used out first within a memory
 * budget, pinned (deployed) versions never evicted, one load per key however many requests
 * ask for it at once, and models disposed only once the runs holding them have finished.
 * Comparable to Triton's model control with a memory limit and to Ray Serve's model
 * multiplexing, whose per-replica LRU it extends with a byte budget and pinning.
 */
import { Errors } from "moleculer";
import { ModelLoadError } from "../errors";
import type { LoadedModel } from "../runtimes/model-runtime";
import { decideAdmission, type AdmissionDecision, type ResidentModel } from "./admission";
import { SYSTEM_CACHE_CLOCK, type CacheClock } from "./cache-clock";
import type { EvictionReason, ModelCacheHooks } from "./model-cache-hooks";
import { resolveModelCacheOptions, type ModelCacheOptions } from "./model-cache-options";

/** Loads the model for a key: a runtime's `load` on the artifact, in production. */
export type ModelLoader = () => Promise<LoadedModel>;

/** A model held for use: it is not disposed before `release()`. */
export interface ModelLease {
	readonly key: string;
	readonly model: LoadedModel;
	/** Gives the model back; calling it again does nothing. */
	release(): void;
}

export interface CachedModelInfo {
	key: string;
	bytes: number;
	pinned: boolean;
	/** ms on the cache's clock. */
	loadedAt: number;
	lastUsedAt: number;
	/** Leases held now (runs in progress). */
	leases: number;
}

/** A resident model with its entry's figures, as `resident()` lists them. */
export interface ResidentModelInfo {
	key: string;
	model: LoadedModel;
	bytes: number;
	pinned: boolean;
	/** Leases held now (runs in progress). */
	leases: number;
}

export interface ModelCacheStats {
	budgetBytes: number;
	/** Bytes of the resident models. */
	bytesUsed: number;
	/** Bytes of evicted models still held by runs in progress or being disposed. */
	bytesDraining: number;
	/** Bytes the resident models exceed the budget by (pinned models admitted over it). */
	overBudgetBytes: number;
	/** Requests (acquire/use) that found the model resident. */
	hits: number;
	/** Requests that did not, including those that joined a load already under way. */
	misses: number;
	/** hits / (hits + misses); 0 before any request. */
	hitRatio: number;
	/** Loads that succeeded (and were admitted). */
	loads: number;
	loadFailures: number;
	/** Loads refused because only pinned models filled the budget. */
	refusals: number;
	evictions: number;
	/** Time spent in successful loads, ms. */
	totalLoadMs: number;
	/** Loads under way. */
	loading: number;
	/** Resident models, least recently used first. */
	entries: CachedModelInfo[];
	/** Pinned keys, resident or not. */
	pinned: string[];
}

export interface ModelCacheConfig {
	options: Partial<ModelCacheOptions> & Pick<ModelCacheOptions, "budgetBytes">;
	hooks?: ModelCacheHooks;
	/** Default SYSTEM_CACHE_CLOCK. */
	clock?: CacheClock;
}

interface Entry {
	key: string;
	model: LoadedModel;
	bytes: number;
	loadedAt: number;
	lastUsedAt: number;
	leases: number;
	evicted: boolean;
	/** Settles once the model is disposed (set on eviction). */
	disposed: Promise<void> | null;
	markDisposed: () => void;
}

interface LoadState {
	/** Requests that wait for this load; each gets a lease granted when it lands. */
	waiters: number;
	settled: boolean;
}

interface Flight {
	promise: Promise<Entry>;
	state: LoadState;
}

export class ModelCache {
	readonly options: Readonly<ModelCacheOptions>;
	private readonly hooks: ModelCacheHooks;
	private readonly clock: CacheClock;
	/** Resident models in least-recently-used-first order (Map keeps insertion order). */
	private readonly entries = new Map<string, Entry>();
	private readonly loading = new Map<string, Flight>();
	private readonly draining = new Set<Entry>();
	private readonly pinnedKeys = new Set<string>();
	private readonly failures = new Map<string, { count: number; notBefore: number }>();
	/** The size each key had when last loaded, to refuse a load that cannot fit before running it. */
	private readonly knownBytes = new Map<string, number>();
	private readonly counts = {
		hits: 0,
		misses: 0,
		loads: 0,
		loadFailures: 0,
		refusals: 0,
		evictions: 0,
		totalLoadMs: 0,
	};

	constructor(config: ModelCacheConfig) {
		this.options = resolveModelCacheOptions(config.options);
		this.hooks = config.hooks ?? {};
		this.clock = config.clock ?? SYSTEM_CACHE_CLOCK;
	}

	/**
	 * Leases the model for `key`, loading it with `loader` when it is not resident (once,
	 * however many ask at once). A failed load rejects every waiter with the loader's error
	 * (a plain Error wrapped in a retryable ModelLoadError) and is not kept: the next request
	 * loads again, after the retry backoff. A model that cannot fit beside the pinned ones is
	 * refused with ModelLoadError.
	 */
	async acquire(key: string, loader: ModelLoader): Promise<ModelLease> {
		const resident = this.entries.get(key);
		if (resident !== undefined) {
			this.counts.hits++;
			this.touch(resident);
			resident.leases++;
			return this.lease(resident);
		}
		this.counts.misses++;
		const flight = this.loading.get(key) ?? this.startLoad(key, loader);
		flight.state.waiters++;
		const entry = await flight.promise;
		this.touch(entry);
		return this.lease(entry);
	}

	/** Runs `fn` on the model for `key` (see `acquire`), holding a lease until it settles. */
	async use<T>(
		key: string,
		loader: ModelLoader,
		fn: (model: LoadedModel) => Promise<T>,
	): Promise<T> {
		const lease = await this.acquire(key, loader);
		try {
			return await fn(lease.model);
		} finally {
			lease.release();
		}
	}

	/**
	 * Makes `key` resident (most recently used) without leasing it: a deployment's warm-up.
	 * Not counted as a hit or miss, which measure requests.
	 */
	async load(key: string, loader: ModelLoader): Promise<void> {
		const resident = this.entries.get(key);
		if (resident !== undefined) {
			this.touch(resident);
			return;
		}
		await (this.loading.get(key) ?? this.startLoad(key, loader)).promise;
	}

	/** Keeps `key` from eviction, resident or not yet loaded (pin before loading to deploy). */
	pin(key: string): void {
		this.pinnedKeys.add(key);
	}

	/** Makes `key` evictable again; if pinned models held the cache over budget, it shrinks now. */
	unpin(key: string): void {
		if (!this.pinnedKeys.delete(key)) return;
		const decision = decideAdmission(
			this.residentView(),
			{ bytes: 0, pinned: true },
			this.options.budgetBytes,
		);
		for (const evicted of decision.evict) this.evict(evicted, "lru");
	}

	/**
	 * Unpins and evicts `key` (after a load under way finishes), resolving once the model is
	 * disposed, i.e. after the runs holding it. False when it was not resident.
	 */
	async unload(key: string): Promise<boolean> {
		this.pinnedKeys.delete(key);
		await this.loading.get(key)?.promise.catch(() => undefined);
		const entry = this.entries.get(key);
		if (entry === undefined) return false;
		this.evict(key, "unload");
		await entry.disposed;
		return true;
	}

	/** Evicts everything and resolves once every model, draining ones included, is disposed. */
	async close(): Promise<void> {
		await Promise.all([...this.loading.values()].map(f => f.promise.catch(() => undefined)));
		for (const key of [...this.entries.keys()]) this.evict(key, "close");
		await Promise.all([...this.draining].map(entry => entry.disposed));
	}

	has(key: string): boolean {
		return this.entries.has(key);
	}

	/** The resident model of `key`, without leasing or touching it; undefined when not resident. */
	peek(key: string): LoadedModel | undefined {
		return this.entries.get(key)?.model;
	}

	/** Whether `key` is pinned (resident or not). */
	isPinned(key: string): boolean {
		return this.pinnedKeys.has(key);
	}

	/** The resident models, least recently used first; nothing is leased or touched. */
	resident(): ResidentModelInfo[] {
		const list: ResidentModelInfo[] = [];
		for (const entry of this.entries.values()) {
			list.push({
				key: entry.key,
				model: entry.model,
				bytes: entry.bytes,
				pinned: this.pinnedKeys.has(entry.key),
				leases: entry.leases,
			});
		}
		return list;
	}

	stats(): ModelCacheStats {
		const bytesUsed = this.bytesUsed();
		const requests = this.counts.hits + this.counts.misses;
		return {
			budgetBytes: this.options.budgetBytes,
			bytesUsed,
			bytesDraining: [...this.draining].reduce((sum, entry) => sum + entry.bytes, 0),
			overBudgetBytes: Math.max(0, bytesUsed - this.options.budgetBytes),
			...this.counts,
			hitRatio: requests === 0 ? 0 : this.counts.hits / requests,
			loading: this.loading.size,
			entries: [...this.entries.values()].map(entry => ({
				key: entry.key,
				bytes: entry.bytes,
				pinned: this.pinnedKeys.has(entry.key),
				loadedAt: entry.loadedAt,
				lastUsedAt: entry.lastUsedAt,
				leases: entry.leases,
			})),
			pinned: [...this.pinnedKeys],
		};
	}

	private startLoad(key: string, loader: ModelLoader): Flight {
		const state: LoadState = { waiters: 0, settled: false };
		const flight: Flight = { promise: this.loadOnce(key, loader, state), state };
		// A load that failed before its first await (refused at once) has settled: nothing to join.
		if (!state.settled) this.loading.set(key, flight);
		return flight;
	}

	private async loadOnce(key: string, loader: ModelLoader, state: LoadState): Promise<Entry> {
		try {
			const failure = this.failures.get(key);
			if (failure !== undefined && failure.notBefore > this.clock.now()) {
				await this.clock.sleep(failure.notBefore - this.clock.now());
			}
			const known = this.knownBytes.get(key);
			if (known !== undefined && !this.admission(key, known).admit) {
				throw this.refusal(key, known);
			}

			const startedAt = this.clock.now();
			let model: LoadedModel;
			try {
				model = await loader();
			} catch (error) {
				throw this.loadFailed(key, startedAt, error);
			}
			const ms = this.clock.now() - startedAt;
			this.failures.delete(key);
			const bytes = Number.isFinite(model.memoryBytes) ? Math.max(0, model.memoryBytes) : 0;
			this.knownBytes.set(key, bytes);
			const decision = this.admission(key, bytes);
			if (!decision.admit) {
				void this.disposeModel(key, model);
				throw this.refusal(key, bytes);
			}
			for (const evicted of decision.evict) this.evict(evicted, "lru");
			const now = this.clock.now();
			const entry: Entry = {
				key,
				model,
				bytes,
				loadedAt: now,
				lastUsedAt: now,
				// Granted before anything else can run, so no later eviction disposes the model
				// before the waiters get it.
				leases: state.waiters,
				evicted: false,
				disposed: null,
				markDisposed: () => undefined,
			};
			this.entries.set(key, entry);
			this.counts.loads++;
			this.counts.totalLoadMs += ms;
			this.emit("loaded", { key, bytes, ms });
			return entry;
		} finally {
			state.settled = true;
			if (this.loading.get(key)?.state === state) this.loading.delete(key);
		}
	}

	private admission(key: string, bytes: number): AdmissionDecision {
		return decideAdmission(
			this.residentView(),
			{ bytes, pinned: this.pinnedKeys.has(key) },
			this.options.budgetBytes,
		);
	}

	private refusal(key: string, bytes: number): ModelLoadError {
		this.counts.refusals++;
		let pinnedBytes = 0;
		for (const entry of this.entries.values()) {
			if (this.pinnedKeys.has(entry.key)) pinnedBytes += entry.bytes;
		}
		return new ModelLoadError(
			key,
			`it needs ${bytes} bytes, but ${pinnedBytes} bytes of this node's ${this.options.budgetBytes}-byte model cache are held by pinned (deployed) models; another node may have room.`,
		);
	}

	private loadFailed(key: string, startedAt: number, error: unknown): unknown {
		const now = this.clock.now();
		const count = (this.failures.get(key)?.count ?? 0) + 1;
		const backoff = Math.min(
			this.options.maxRetryBackoffMs,
			this.options.retryBackoffMs * 2 ** (count - 1),
		);
		this.failures.set(key, { count, notBefore: now + backoff });
		this.counts.loadFailures++;
		this.emit("loadFailed", { key, ms: now - startedAt, error, consecutiveFailures: count });
		if (error instanceof Errors.MoleculerError) return error;
		return new ModelLoadError(key, error instanceof Error ? error.message : String(error));
	}

	private touch(entry: Entry): void {
		entry.lastUsedAt = this.clock.now();
		if (this.entries.get(entry.key) !== entry) return;
		this.entries.delete(entry.key);
		this.entries.set(entry.key, entry);
	}

	private lease(entry: Entry): ModelLease {
		let released = false;
		return {
			key: entry.key,
			model: entry.model,
			release: () => {
				if (released) return;
				released = true;
				entry.leases--;
				if (entry.evicted && entry.leases === 0) this.disposeEntry(entry);
			},
		};
	}

	private evict(key: string, reason: EvictionReason): void {
		const entry = this.entries.get(key);
		if (entry === undefined) return;
		this.entries.delete(key);
		entry.evicted = true;
		entry.disposed = new Promise(resolve => (entry.markDisposed = resolve));
		this.draining.add(entry);
		this.counts.evictions++;
		this.emit("evicted", { key, bytes: entry.bytes, reason });
		if (entry.leases === 0) this.disposeEntry(entry);
	}

	private disposeEntry(entry: Entry): void {
		void this.disposeModel(entry.key, entry.model).then(() => {
			this.draining.delete(entry);
			entry.markDisposed();
		});
	}

	private async disposeModel(key: string, model: LoadedModel): Promise<void> {
		try {
			await model.dispose();
		} catch (error) {
			this.emit("disposeFailed", { key, error });
		}
	}

	private residentView(): ResidentModel[] {
		return [...this.entries.values()].map(entry => ({
			key: entry.key,
			bytes: entry.bytes,
			pinned: this.pinnedKeys.has(entry.key),
		}));
	}

	private bytesUsed(): number {
		let sum = 0;
		for (const entry of this.entries.values()) sum += entry.bytes;
		return sum;
	}

	private emit<K extends keyof ModelCacheHooks>(
		hook: K,
		event: Parameters<NonNullable<ModelCacheHooks[K]>>[0],
	): void {
		try {
			(this.hooks[hook] as ((event: unknown) => void) | undefined)?.call(this.hooks, event);
		} catch {
			// A metrics hook must never break serving.
		}
	}
}
