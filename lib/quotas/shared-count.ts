/**
 * Where the gateways add up their prediction counts for the rate quotas: Redis when the
 * gateways share one (the rate limits' server), else this process alone. `add` adds a delta to
 * a window's key and answers the total over every gateway.
 */
import type Redis from "ioredis";

export interface SharedCount {
	/** Adds `delta` (0 reads) to `key`, which expires `ttlMs` after its last write; the new total. */
	add(key: string, delta: number, ttlMs: number): Promise<number>;
	close(): Promise<void>;
}

/** One process: the total is what this gateway counted. */
export class MemorySharedCount implements SharedCount {
	private readonly totals = new Map<string, { total: number; expiresAt: number }>();

	constructor(private readonly now: () => number = Date.now) {}

	add(key: string, delta: number, ttlMs: number): Promise<number> {
		const now = this.now();
		for (const [k, entry] of this.totals) if (entry.expiresAt <= now) this.totals.delete(k);
		const total = (this.totals.get(key)?.total ?? 0) + delta;
		this.totals.set(key, { total, expiresAt: now + ttlMs });
		return Promise.resolve(total);
	}

	close(): Promise<void> {
		this.totals.clear();
		return Promise.resolve();
	}
}

/** Every gateway on one Redis: INCRBY on `<prefix><key>`, expiring after its window. */
export class RedisSharedCount implements SharedCount {
	constructor(
		private readonly redis: Redis,
		private readonly prefix: string,
	) {}

	async add(key: string, delta: number, ttlMs: number): Promise<number> {
		const redisKey = `${this.prefix}${key}`;
		const results = await this.redis
			.multi()
			.incrby(redisKey, delta)
			.pexpire(redisKey, ttlMs)
			.exec();
		const [error, total] = results?.[0] ?? [new Error("the transaction was discarded"), 0];
		if (error) throw error;
		return Number(total);
	}

	async close(): Promise<void> {
		await this.redis.quit().catch(() => this.redis.disconnect());
	}
}
