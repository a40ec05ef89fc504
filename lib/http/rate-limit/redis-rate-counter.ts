import type Redis from "ioredis";
import { currentWindow, type RateCount, type RateCounter } from "./rate-counter";

/**
 * Counts in Redis, shared by every gateway that uses the same server and prefix: one INCR per
 * request on `<prefix><window>:<key>`, which expires shortly after its window.
 */
export class RedisRateCounter implements RateCounter {
	constructor(
		private readonly redis: Redis,
		private readonly windowMs: number,
		private readonly prefix: string,
		private readonly now: () => number = Date.now,
	) {}

	async hit(key: string): Promise<RateCount> {
		const { index, resetAt } = currentWindow(this.now(), this.windowMs);
		const redisKey = `${this.prefix}${index}:${key}`;
		const results = await this.redis
			.multi()
			.incr(redisKey)
			.pexpire(redisKey, this.windowMs + 1000)
			.exec();
		const [error, count] = results?.[0] ?? [new Error("the transaction was discarded"), 0];
		if (error) throw error;
		return { count: Number(count), resetAt };
	}

	/** Waits for the connection: commands sent before it fail (there is no offline queue). */
	ready(timeoutMs: number): Promise<boolean> {
		if (this.redis.status === "ready") return Promise.resolve(true);
		return new Promise(resolve => {
			const done = (ok: boolean): void => {
				clearTimeout(timer);
				this.redis.off("ready", onReady);
				resolve(ok);
			};
			const onReady = (): void => done(true);
			const timer = setTimeout(() => done(false), timeoutMs);
			this.redis.once("ready", onReady);
		});
	}

	async close(): Promise<void> {
		await this.redis.quit().catch(() => this.redis.disconnect());
	}
}
