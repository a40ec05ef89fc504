import {
	DEFAULT_MODEL_CACHE_OPTIONS,
	resolveModelCacheOptions,
} from "../../../lib/cache/model-cache-options";
import { InvalidConfigurationError } from "../../../lib/errors";

describe("resolveModelCacheOptions", () => {
	it("fills in the documented defaults and freezes the result", () => {
		const options = resolveModelCacheOptions({ budgetBytes: 4e9 });
		expect(options).toEqual({ ...DEFAULT_MODEL_CACHE_OPTIONS, budgetBytes: 4e9 });
		expect(options.retryBackoffMs).toBe(250);
		expect(options.maxRetryBackoffMs).toBe(10_000);
		expect(Object.isFrozen(options)).toBe(true);
	});

	it("reports every wrong option at once", () => {
		let error: unknown;
		try {
			resolveModelCacheOptions({
				budgetBytes: 0,
				retryBackoffMs: -1,
				maxRetryBackoffMs: Infinity,
			});
		} catch (err) {
			error = err;
		}
		expect(error).toBeInstanceOf(InvalidConfigurationError);
		expect(
			(error as InvalidConfigurationError).data.problems.map(
				(p: { setting: string }) => p.setting,
			),
		).toEqual([
			"modelCache.budgetBytes",
			"modelCache.retryBackoffMs",
			"modelCache.maxRetryBackoffMs",
		]);
	});
});
