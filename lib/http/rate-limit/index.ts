/** Picks the rate counter for the options: Redis when a URL is given, memory otherwise. */
import Redis from "ioredis";
import { MemoryRateCounter } from "./memory-rate-counter";
import { currentWindow, type RateCount, type RateCounter } from "./rate-counter";
import type { RateLimitOptions } from "./rate-limit-options";
import { RedisRateCounter } from "./redis-rate-counter";

export type { RateCount, RateCounter } from "./rate-counter";
export { MemoryRateCounter } from "./memory-rate-counter";
export { RedisRateCounter } from "./redis-rate-counter";

/**
 * Lets requests through, uncounted, while the inner counter fails (Redis unreachable): a
 * limit that cannot be checked should not take the API down with it.
 */
export class FailOpenRateCounter implements RateCounter {
	constructor(
		private readonly inner: RateCounter,
		private readonly windowMs: number,
		private readonly onError: (err: unknown) => void,
	) {}

	async hit(key: string): Promise<RateCount> {
		try {
			return await this.inner.hit(key);
		} catch (err) {
			this.onError(err);
			return { count: 0, resetAt: currentWindow(Date.now(), this.windowMs).resetAt };
		}
	}

	ready(timeoutMs: number): Promise<boolean> {
		return this.inner.ready(timeoutMs);
	}

	close(): Promise<void> {
		return this.inner.close();
	}
}

/** The counter for these options; errors of a shared store go to `onError` and let requests pass. */
export function createRateCounter(
	options: Readonly<RateLimitOptions>,
	onError: (err: unknown) => void,
): RateCounter {
	if (options.redisUrl === null) return new MemoryRateCounter(options.windowMs);
	const redis = new Redis(options.redisUrl, {
		// Fail fast instead of queueing while Redis is away: the fail-open wrapper lets requests by.
		enableOfflineQueue: false,
		maxRetriesPerRequest: 1,
		commandTimeout: 1000,
		lazyConnect: false,
	});
	redis.on("error", onError);
	return new FailOpenRateCounter(
		new RedisRateCounter(redis, options.windowMs, options.keyPrefix),
		options.windowMs,
		onError,
	);
}
