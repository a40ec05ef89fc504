import { parseDeclaredGpus } from "../../../lib/capacity/declared-gpus";

describe("parseDeclaredGpus", () => {
	it("asks for detection when nothing is declared", () => {
		expect(parseDeclaredGpus(undefined)).toEqual({ kind: "detect" });
		expect(parseDeclaredGpus("  ")).toEqual({ kind: "detect" });
	});

	it('declares no GPUs with "none"', () => {
		expect(parseDeclaredGpus("none")).toEqual({ kind: "declared", gpus: [] });
	});

	it("reads declared GPUs with sizes in bytes or units", () => {
		const result = parseDeclaredGpus(
			JSON.stringify([
				{ name: "NVIDIA L4", memory: "24GiB", computeCapability: "8.9" },
				{ name: "NVIDIA H100 80GB HBM3", memory: 85899345920, uuid: "GPU-1" },
			]),
		);
		expect(result).toEqual({
			kind: "declared",
			gpus: [
				{
					index: 0,
					name: "NVIDIA L4",
					uuid: null,
					memoryTotalBytes: 24 * 1024 ** 3,
					memoryUsedBytes: 0,
					memoryFreeBytes: 24 * 1024 ** 3,
					utilizationPercent: null,
					computeCapability: "8.9",
					driverVersion: null,
				},
				{
					index: 1,
					name: "NVIDIA H100 80GB HBM3",
					uuid: "GPU-1",
					memoryTotalBytes: 85899345920,
					memoryUsedBytes: 0,
					memoryFreeBytes: 85899345920,
					utilizationPercent: null,
					computeCapability: null,
					driverVersion: null,
				},
			],
		});
	});

	it.each([
		["{not json", /not valid JSON/],
		['{"name":"x"}', /expected "none", or a JSON array/],
		['[{"memory":"1GiB"}]', /entry 0 needs a "name"/],
		['[{"name":"A"}]', /entry 0 needs "memory"/],
		['[{"name":"A","memory":"lots"}]', /entry 0 needs "memory"/],
		["[3]", /entry 0 is not an object/],
	])("refuses %s with a message that says what is wrong", (text, message) => {
		const result = parseDeclaredGpus(text);
		expect(result.kind).toBe("error");
		expect(result.kind === "error" && result.problem).toMatch(message);
	});
});
