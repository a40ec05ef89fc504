import {
	DEFAULT_BATCHING_OPTIONS,
	resolveBatchingOptions,
} from "../../../lib/batching/batching-options";
import { InvalidConfigurationError } from "../../../lib/errors";

describe("resolveBatchingOptions", () => {
	it("fills in the documented defaults and freezes the result", () => {
		const options = resolveBatchingOptions();
		expect(options).toEqual(DEFAULT_BATCHING_OPTIONS);
		expect(options).toEqual({
			enabled: true,
			maxBatchSize: 64,
			maxQueueDelayMicros: 0,
			maxQueueSize: 1024,
			preferredBatchSizes: [],
			maxConcurrentBatches: 1,
		});
		expect(Object.isFrozen(options)).toBe(true);
		expect(Object.isFrozen(options.preferredBatchSizes)).toBe(true);
	});

	it("sorts preferred batch sizes and drops repeats", () => {
		expect(
			resolveBatchingOptions({ maxBatchSize: 32, preferredBatchSizes: [16, 4, 16, 8] })
				.preferredBatchSizes,
		).toEqual([4, 8, 16]);
	});

	it("reports every wrong option at once, under the given prefix", () => {
		let error: unknown;
		try {
			resolveBatchingOptions(
				{
					enabled: "yes" as unknown as boolean,
					maxBatchSize: 0,
					maxQueueDelayMicros: -1,
					maxQueueSize: 1.5,
					preferredBatchSizes: [0],
					maxConcurrentBatches: Number.NaN,
				},
				"models.iris.batching",
			);
		} catch (err) {
			error = err;
		}
		expect(error).toBeInstanceOf(InvalidConfigurationError);
		expect(
			(error as InvalidConfigurationError).data.problems.map(
				(p: { setting: string }) => p.setting,
			),
		).toEqual([
			"models.iris.batching.enabled",
			"models.iris.batching.maxBatchSize",
			"models.iris.batching.maxQueueDelayMicros",
			"models.iris.batching.maxQueueSize",
			"models.iris.batching.preferredBatchSizes",
			"models.iris.batching.maxConcurrentBatches",
		]);
	});

	it("refuses a preferred size above maxBatchSize", () => {
		expect(() =>
			resolveBatchingOptions({ maxBatchSize: 8, preferredBatchSizes: [16] }),
		).toThrow(/preferredBatchSizes/);
	});
});
