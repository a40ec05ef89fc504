import { FailOpenRateCounter } from "../../../../lib/http/rate-limit";
import { resolveRateLimitOptions } from "../../../../lib/http/rate-limit/rate-limit-options";

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
