import { rollUp, usageCsv, usageRange } from "../../../lib/metering/usage-query";
import { zeroCounts, type UsageRow } from "../../../lib/metering/usage-counts";
import { requestBytes, responseBytes } from "../../../lib/metering/tensor-bytes";

const NOW = Date.parse("2026-03-04T05:10:00Z");
const row = (hour: string, requests: number, model = "mlp"): UsageRow => ({
	tenant: "t",
	model,
	version: "1.0.0",
	hour,
	...zeroCounts(),
	requests,
});

describe("usageRange", () => {
	it("defaults to the last 24 hours, rounded out to whole hours", () => {
		expect(usageRange({}, NOW)).toEqual({
			from: new Date("2026-03-03T05:00:00Z"),
			to: new Date("2026-03-04T06:00:00Z"),
			granularity: "hour",
		});
	});

	it("takes ISO times or ms since the epoch, and whole days for granularity=day", () => {
		expect(
			usageRange({ from: "2026-03-01T10:00:00Z", to: String(NOW), granularity: "day" }, NOW),
		).toEqual({
			from: new Date("2026-03-01T00:00:00Z"),
			to: new Date("2026-03-05T00:00:00Z"),
			granularity: "day",
		});
	});

	it.each([
		[{ granularity: "week" }, /granularity/],
		[{ from: "yesterday" }, /'from' must be an ISO 8601/],
		[{ from: "2026-03-05T00:00:00Z", to: "2026-03-04T00:00:00Z" }, /must come before/],
		[{ from: "2025-01-01T00:00:00Z", to: "2026-03-01T00:00:00Z" }, /at most 31 days/],
	])("refuses %j with a 400 that says why", (params, message) => {
		expect(() => usageRange(params, NOW)).toThrow(message);
		try {
			usageRange(params, NOW);
		} catch (err) {
			expect(err).toMatchObject({ code: 400, type: "INVALID_INPUT" });
		}
	});
});

describe("rollUp and CSV", () => {
	const rows = [
		row("2026-03-04T01:00:00.000Z", 2),
		row("2026-03-04T05:00:00.000Z", 3),
		row("2026-03-04T05:00:00.000Z", 7, "other"),
	];

	it("keeps hours as they are and sums per UTC day", () => {
		expect(rollUp(rows, "hour").map(r => [r.period, r.requests])).toEqual([
			["2026-03-04T01:00:00.000Z", 2],
			["2026-03-04T05:00:00.000Z", 3],
			["2026-03-04T05:00:00.000Z", 7],
		]);
		expect(rollUp(rows, "day").map(r => [r.model, r.period, r.requests])).toEqual([
			["mlp", "2026-03-04T00:00:00.000Z", 5],
			["other", "2026-03-04T00:00:00.000Z", 7],
		]);
	});

	it("writes a header and one line per row", () => {
		const lines = usageCsv(rollUp(rows, "day")).trim().split("\n");
		expect(lines[0]).toBe(
			"period,tenant,model,version,requests,rows,errors,cpuMs,gpuMs,bytesIn,bytesOut,trainingCpuS,trainingGpuS",
		);
		expect(lines[1]).toBe("2026-03-04T00:00:00.000Z,t,mlp,1.0.0,5,0,0,0,0,0,0,0,0");
		expect(lines).toHaveLength(3);
	});
});

describe("tensor bytes", () => {
	it("counts JSON and binary tensors alike, at the datatype's width", () => {
		const json = {
			inputs: [
				{
					name: "x",
					datatype: "FP32",
					shape: [2, 4],
					data: [
						[1, 2, 3, 4],
						[5, 6, 7, 8],
					],
				},
			],
		};
		const binary = {
			inputs: [{ name: "x", datatype: "FP32", shape: [2, 4], data: new Float32Array(8) }],
		};
		expect(requestBytes(json)).toBe(32);
		expect(requestBytes(binary)).toBe(32);
		expect(requestBytes({ instances: [{ a: 1, b: 2 }, [3, 4]] })).toBe(16);
		expect(requestBytes({ inputs: [{ datatype: "INT64", data: [1, 2] }] })).toBe(16);
		expect(
			responseBytes([{ name: "y", datatype: "FP64", shape: [2], data: new Float64Array(2) }]),
		).toBe(16);
		expect(requestBytes(null)).toBe(0);
	});
});
