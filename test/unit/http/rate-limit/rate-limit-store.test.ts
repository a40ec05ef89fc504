import { FailOpenRateCounter, MemoryRateCounter } from "../../../../lib/http/rate-limit";
import { resolveRateLimitOptions } from "../../../../lib/http/rate-limit/rate-limit-options";
import { routeRateLimit } from "../../../../lib/http/rate-limit/rate-limit-store";
import { RateLimitedError } from "../../../../lib/errors";

describe("routeRateLimit", () => {
	it("lets `limit` requests through per window, then throws RATE_LIMITED with the time to the window's end", async () => {
		const now = () => 1_000;
		const counter = new MemoryRateCounter(60_000, now);
		const option = routeRateLimit(counter, { limit: 2, windowMs: 60_000 }, () => "k", now);
		const store = new option.StoreFactory(60_000);
		expect(await store.inc("key:1")).toBe(1);
		expect(await store.inc("key:1")).toBe(2);
		const refused = await store.inc("key:1").catch((err: unknown) => err);
		expect(refused).toBeInstanceOf(RateLimitedError);
		expect(refused).toMatchObject({
			code: 429,
			type: "RATE_LIMITED",
			data: { limit: 2, windowMs: 60_000, retryAfterMs: 59_000 },
		});
		expect(store.resetTime).toBe(60_000);
		expect(option).toMatchObject({ limit: 2, window: 60_000, headers: true });
	});

	it("counts a key across every route's store together", async () => {
		const counter = new MemoryRateCounter(60_000);
		const option = routeRateLimit(counter, { limit: 1, windowMs: 60_000 }, () => "k");
		const a = new option.StoreFactory(60_000);
		const b = new option.StoreFactory(60_000);
		await a.inc("key:1");
		await expect(b.inc("key:1")).rejects.toBeInstanceOf(RateLimitedError);
	});
});

describe("FailOpenRateCounter", () => {
	it("lets requests through uncounted and reports when the store fails", async () => {
		const errors: unknown[] = [];
		const counter = new FailOpenRateCounter(
			{
				hit: () => Promise.reject(new Error("ECONNREFUSED")),
				ready: () => Promise.resolve(false),
				close: () => Promise.resolve(),
			},
			60_000,
			err => errors.push(err),
		);
		expect((await counter.hit("k")).count).toBe(0);
		expect(errors).toHaveLength(1);
	});
});

describe("resolveRateLimitOptions", () => {
	it("defaults to off, in memory, per minute", () => {
		expect(resolveRateLimitOptions()).toEqual({
			limit: 0,
			windowMs: 60_000,
			redisUrl: null,
			keyPrefix: "modelfleet:ratelimit:",
		});
	});

	it("names every wrong setting at once", () => {
		expect(() => resolveRateLimitOptions({ limit: -1, windowMs: 0 })).toThrow(
			expect.objectContaining({
				type: "INVALID_CONFIGURATION",
				data: expect.objectContaining({
					problems: [
						expect.objectContaining({ setting: "rateLimit.limit" }),
						expect.objectContaining({ setting: "rateLimit.windowMs" }),
					],
				}),
			}),
		);
	});
});
