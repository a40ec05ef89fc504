/**
 * Dynamic batching options, per loaded model version: defaults documented,
 * merged once, validated at once, frozen. The names follow Triton's dynamic batcher so that
 * a Triton model configuration translates field by field.
 */
import { InvalidConfigurationError, type ConfigurationProblem } from "../errors";

export interface BatchingOptions {
	/**
	 * Combine waiting requests into one run. Default true. When false every request is its
	 * own batch and leaves the queue as soon as a run slot is free: `maxQueueSize`, deadlines
	 * and `maxConcurrentBatches` still apply, so a model without batching is bounded the same
	 * way (Triton's scheduler without `dynamic_batching`).
	 */
	enabled: boolean;
	/**
	 * The most rows (sum of first dimensions) in one batch. Default 64. A single request with
	 * more rows is not refused: it runs alone. Triton: `max_batch_size`.
	 */
	maxBatchSize: number;
	/**
	 * How long the oldest waiting request may wait for others to join it, in microseconds.
	 * Default 0, as Triton's: no request waits for company it may not get, and requests that
	 * arrive in the same tick or while every run slot is busy are still combined (under load
	 * batches form by themselves). Raise it to trade latency for larger batches. Triton:
	 * `max_queue_delay_microseconds`.
	 */
	maxQueueDelayMicros: number;
	/**
	 * The most requests waiting (not counting those already running); one more is refused at
	 * once with OverloadedError and a retry-after hint. Counted in requests, as Triton's
	 * `max_queue_size`, so that a large request is never refused for good. Default 1024.
	 */
	maxQueueSize: number;
	/**
	 * Batch sizes (rows) the model runs best at, e.g. [8, 16, 32]. A batch that reaches one of
	 * them leaves at once instead of waiting out `maxQueueDelayMicros`; each must be between
	 * 1 and `maxBatchSize`. Default [] (only `maxBatchSize` and the delay decide). Triton:
	 * `preferred_batch_size`.
	 */
	preferredBatchSizes: readonly number[];
	/**
	 * Batches that may run at the same time on the model; while all are busy, requests keep
	 * queueing and so form larger batches. Default 1. Triton: the `instance_group` count.
	 */
	maxConcurrentBatches: number;
}

export const DEFAULT_BATCHING_OPTIONS: Readonly<BatchingOptions> = Object.freeze({
	enabled: true,
	maxBatchSize: 64,
	maxQueueDelayMicros: 0,
	maxQueueSize: 1024,
	preferredBatchSizes: Object.freeze([]) as readonly number[],
	maxConcurrentBatches: 1,
});

/**
 * Merges the defaults in, checks every field at once (InvalidConfigurationError naming each
 * wrong setting under `prefix`) and freezes the result; preferred sizes come back sorted.
 */
export function resolveBatchingOptions(
	options: Partial<BatchingOptions> = {},
	prefix = "batching",
): Readonly<BatchingOptions> {
	const merged: BatchingOptions = { ...DEFAULT_BATCHING_OPTIONS, ...options };
	const problems: ConfigurationProblem[] = [];
	const check = (ok: boolean, setting: keyof BatchingOptions, problem: string): void => {
		if (!ok) problems.push({ setting: `${prefix}.${setting}`, problem });
	};
	const positiveInteger = (value: unknown): boolean =>
		Number.isSafeInteger(value) && (value as number) > 0;

	check(
		typeof merged.enabled === "boolean",
		"enabled",
		`${String(merged.enabled)} is not true or false`,
	);
	check(
		positiveInteger(merged.maxBatchSize),
		"maxBatchSize",
		`${merged.maxBatchSize} is not a whole number of rows ≥ 1`,
	);
	check(
		Number.isFinite(merged.maxQueueDelayMicros) && merged.maxQueueDelayMicros >= 0,
		"maxQueueDelayMicros",
		`${merged.maxQueueDelayMicros} is not a duration ≥ 0 µs`,
	);
	check(
		positiveInteger(merged.maxQueueSize),
		"maxQueueSize",
		`${merged.maxQueueSize} is not a whole number of requests ≥ 1`,
	);
	const preferred = Array.isArray(merged.preferredBatchSizes) ? merged.preferredBatchSizes : null;
	check(
		preferred !== null &&
			preferred.every(
				size =>
					positiveInteger(size) &&
					(!positiveInteger(merged.maxBatchSize) || size <= merged.maxBatchSize),
			),
		"preferredBatchSizes",
		`${JSON.stringify(merged.preferredBatchSizes)} is not a list of row counts between 1 and maxBatchSize`,
	);
	check(
		positiveInteger(merged.maxConcurrentBatches),
		"maxConcurrentBatches",
		`${merged.maxConcurrentBatches} is not a whole number of batches ≥ 1`,
	);
	if (problems.length > 0) throw new InvalidConfigurationError(problems);

	merged.preferredBatchSizes = Object.freeze([...new Set(preferred ?? [])].sort((a, b) => a - b));
	return Object.freeze(merged);
}
