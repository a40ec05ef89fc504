/**
 * What the model cache reports: one payload type per hook. The service turns
 * them into Prometheus metrics and log lines.
 */

/** "lru": made room within the budget; "unload": asked for; "close": the cache closed. */
export type EvictionReason = "lru" | "unload" | "close";

export interface ModelLoadedEvent {
	key: string;
	bytes: number;
	/** How long the load took, in ms. */
	ms: number;
}

export interface ModelEvictedEvent {
	key: string;
	bytes: number;
	reason: EvictionReason;
}

export interface ModelLoadFailedEvent {
	key: string;
	ms: number;
	error: unknown;
	/** Failures of this key in a row, this one included. */
	consecutiveFailures: number;
}

export interface ModelDisposeFailedEvent {
	key: string;
	error: unknown;
}

/**
 * Hooks for metrics and logs, each with its payload type. A hook that throws is
 * ignored: metrics must never break serving.
 */
export interface ModelCacheHooks {
	loaded?(event: ModelLoadedEvent): void;
	/** Fired when the model leaves the cache; it is disposed once its last lease is released. */
	evicted?(event: ModelEvictedEvent): void;
	loadFailed?(event: ModelLoadFailedEvent): void;
	disposeFailed?(event: ModelDisposeFailedEvent): void;
}
