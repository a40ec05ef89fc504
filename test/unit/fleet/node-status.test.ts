import { sampleNodeStatus } from "../../../lib/fleet/node-status";

describe("sampleNodeStatus", () => {
	it("reports load per core, memory, in-flight work and each GPU's live memory", () => {
		const status = sampleNodeStatus(
			{
				nodeID: "w1",
				cpus: 4,
				inFlight: 3,
				eventLoopDelayMs: 1.23456,
				gpus: [
					{
						index: 0,
						name: "NVIDIA H200",
						uuid: "GPU-1",
						memoryTotalBytes: 100,
						memoryUsedBytes: 30,
						memoryFreeBytes: 70,
						utilizationPercent: 55,
						computeCapability: "9.0",
						driverVersion: "580",
					},
				],
			},
			{
				now: () => 42,
				uptimeS: () => 9.6,
				loadAverage1m: () => 2,
				freeMemoryBytes: () => 1000,
				rssBytes: () => 200,
			},
		);
		expect(status).toEqual({
			nodeID: "w1",
			at: 42,
			uptimeS: 10,
			cpuLoad: 0.5,
			memoryFreeBytes: 1000,
			processRssBytes: 200,
			eventLoopDelayMs: 1.23,
			inFlight: 3,
			gpus: [{ index: 0, memoryFreeBytes: 70, memoryUsedBytes: 30, utilizationPercent: 55 }],
		});
	});
});
