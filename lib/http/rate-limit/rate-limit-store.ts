/**
 * The gateway's counters as moleculer-web's `rateLimit` route option. moleculer-web builds one
 * store per route with `new StoreFactory(window, options, broker)` and calls `inc(key)` before
 * authentication; every store made here counts in the same counter, so a key's requests add up
 * across routes. Over the limit, `inc` throws RATE_LIMITED (429, with the time to the window's
 * end for Retry-After) rather than moleculer-web's untyped error.
 */
import type { IncomingMessage } from "node:http";
import { RateLimitedError } from "../../errors";
import type { RateCounter } from "./rate-counter";
import type { RateLimitOptions } from "./rate-limit-options";

/** What moleculer-web expects of a store. */
export interface RateLimitStore {
	/** When the current window ends (ms since the epoch): moleculer-web's X-Rate-Limit-Reset. */
	resetTime: number;
	inc(key: string): Promise<number>;
}

/** moleculer-web's `rateLimit` route option. */
export interface RouteRateLimit {
	window: number;
	limit: number;
	headers: boolean;
	key: (req: IncomingMessage) => string | null;
	StoreFactory: new (windowMs: number) => RateLimitStore;
}

export function routeRateLimit(
	counter: RateCounter,
	options: Pick<Readonly<RateLimitOptions>, "limit" | "windowMs">,
	key: (req: IncomingMessage) => string | null,
	now: () => number = Date.now,
): RouteRateLimit {
	const { limit, windowMs } = options;
	class CounterStore implements RateLimitStore {
		resetTime = 0;

		async inc(storeKey: string): Promise<number> {
			const { count, resetAt } = await counter.hit(storeKey);
			this.resetTime = resetAt;
			if (count > limit) throw new RateLimitedError(limit, windowMs, resetAt - now());
			return count;
		}
	}
	return { window: windowMs, limit, headers: true, key, StoreFactory: CounterStore };
}
