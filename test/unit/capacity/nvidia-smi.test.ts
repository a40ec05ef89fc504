import { parseNvidiaSmiCsv, NVIDIA_SMI_ARGS } from "../../../lib/capacity/nvidia-smi";

const MIB = 1024 * 1024;
// Read on an H200 host.
const H200 =
	"0, NVIDIA H200, GPU-e6875044-d04c-6457-1800-07a6f04ddf85, 143771, 0, 143156, 0, 9.0, 580.159.04";

describe("parseNvidiaSmiCsv", () => {
	it("asks nvidia-smi for exactly the fields it parses", () => {
		expect(NVIDIA_SMI_ARGS).toEqual([
			"--query-gpu=index,name,uuid,memory.total,memory.used,memory.free,utilization.gpu,compute_cap,driver_version",
			"--format=csv,noheader,nounits",
		]);
	});

	it("reads a real H200 line", () => {
		const { gpus, warnings } = parseNvidiaSmiCsv(H200 + "\n");
		expect(warnings).toEqual([]);
		expect(gpus).toEqual([
			{
				index: 0,
				name: "NVIDIA H200",
				uuid: "GPU-e6875044-d04c-6457-1800-07a6f04ddf85",
				memoryTotalBytes: 143771 * MIB,
				memoryUsedBytes: 0,
				memoryFreeBytes: 143156 * MIB,
				utilizationPercent: 0,
				computeCapability: "9.0",
				driverVersion: "580.159.04",
			},
		]);
	});

	it("reads several GPUs in their order", () => {
		const output = [
			"0, NVIDIA A100-SXM4-80GB, GPU-aaaa, 81920, 1024, 80896, 37, 8.0, 550.54.15",
			"1, NVIDIA A100-SXM4-80GB, GPU-bbbb, 81920, 40960, 40960, 99, 8.0, 550.54.15",
			"2, Tesla T4, GPU-cccc, 15360, 0, 15360, 0, 7.5, 550.54.15",
		].join("\n");
		const { gpus, warnings } = parseNvidiaSmiCsv(output);
		expect(warnings).toEqual([]);
		expect(gpus.map(g => [g.index, g.name, g.uuid, g.utilizationPercent])).toEqual([
			[0, "NVIDIA A100-SXM4-80GB", "GPU-aaaa", 37],
			[1, "NVIDIA A100-SXM4-80GB", "GPU-bbbb", 99],
			[2, "Tesla T4", "GPU-cccc", 0],
		]);
		expect(gpus[1].memoryUsedBytes).toBe(40960 * MIB);
	});

	it("turns [N/A] and [Not Supported] fields into null and keeps the GPU", () => {
		const { gpus, warnings } = parseNvidiaSmiCsv(
			"0, NVIDIA GH200 480GB, GPU-dddd, 97871, [N/A], [N/A], [Not Supported], 9.0, [N/A]",
		);
		expect(warnings).toEqual([]);
		expect(gpus[0]).toMatchObject({
			name: "NVIDIA GH200 480GB",
			memoryTotalBytes: 97871 * MIB,
			memoryUsedBytes: null,
			memoryFreeBytes: null,
			utilizationPercent: null,
			computeCapability: "9.0",
			driverVersion: null,
		});
	});

	it("keeps a comma inside a GPU name", () => {
		const { gpus } = parseNvidiaSmiCsv(
			"0, Quadro RTX 8000, Rev A, GPU-eeee, 49152, 0, 49152, 3, 7.5, 535.1",
		);
		expect(gpus[0].name).toBe("Quadro RTX 8000, Rev A");
		expect(gpus[0].uuid).toBe("GPU-eeee");
	});

	it("gives no GPUs and a clear warning for garbage, without throwing", () => {
		const { gpus, warnings } = parseNvidiaSmiCsv(
			"NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.",
		);
		expect(gpus).toEqual([]);
		expect(warnings[0]).toMatch(/nvidia-smi line ignored: expected 9 comma-separated fields/);
		expect(warnings[warnings.length - 1]).toMatch(/advertises no GPUs/);
	});

	it("drops a line whose numbers are not numbers and keeps the good ones", () => {
		const { gpus, warnings } = parseNvidiaSmiCsv(
			[
				H200,
				"1, NVIDIA H200, GPU-ffff, lots, 0, 143156, 0, 9.0, 580.159.04",
				"x, a, b, 1, 2, 3, 4, 5, 6",
			].join("\n"),
		);
		expect(gpus.map(g => g.index)).toEqual([0]);
		expect(warnings).toEqual([
			expect.stringContaining("memory.total is not a number"),
			expect.stringContaining("index is not a whole number"),
		]);
	});

	it("reads empty output as no GPUs and no warning", () => {
		expect(parseNvidiaSmiCsv("\n")).toEqual({ gpus: [], warnings: [] });
	});
});
