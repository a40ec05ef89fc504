import { detectCapacity, type CapacityProbes } from "../../../lib/capacity/node-capacity";
import type { RuntimeProbe } from "../../../lib/capacity/runtime-support";

const H200 =
	"0, NVIDIA H200, GPU-e6875044-d04c-6457-1800-07a6f04ddf85, 143771, 0, 143156, 0, 9.0, 580.159.04\n";

function runtimeProbe(installed: string[], files: string[] = []): RuntimeProbe {
	return {
		packageJsonPath: name => (installed.includes(name) ? `/nm/${name}/package.json` : null),
		readVersion: file => (file.includes("onnxruntime") ? "1.30.0" : "4.22.0"),
		fileExists: file => files.some(f => file.endsWith(f)),
	};
}

function probes(overrides: Partial<CapacityProbes> = {}): CapacityProbes {
	return {
		cpuCount: () => 8,
		totalMemoryBytes: () => 32 * 1024 ** 3,
		runNvidiaSmi: async () => null,
		runtimes: runtimeProbe([
			"onnxruntime-node",
			"@tensorflow/tfjs-core",
			"@tensorflow/tfjs-backend-wasm",
		]),
		...overrides,
	};
}

const NOTHING_DECLARED = { cpus: null, memoryBytes: null, gpus: null };

describe("detectCapacity", () => {
	it("reads CPUs and memory from the host and finds no GPU without nvidia-smi", async () => {
		const { capacity, warnings } = await detectCapacity(NOTHING_DECLARED, probes());
		expect(warnings).toEqual([]);
		expect(capacity).toEqual({
			cpus: 8,
			memoryBytes: 32 * 1024 ** 3,
			gpus: [],
			gpuSource: "none",
			runtimes: [
				{ name: "onnx", executionProviders: ["cpu"], version: "1.30.0" },
				{ name: "tfjs", executionProviders: ["wasm"], version: "4.22.0" },
				{ name: "xgboost", executionProviders: ["js"], version: null },
			],
		});
	});

	it("advertises the GPUs nvidia-smi reports", async () => {
		const { capacity } = await detectCapacity(
			NOTHING_DECLARED,
			probes({ runNvidiaSmi: async () => H200 }),
		);
		expect(capacity.gpuSource).toBe("nvidia-smi");
		expect(capacity.gpus.map(g => g.name)).toEqual(["NVIDIA H200"]);
	});

	it("starts with no GPUs and a warning when nvidia-smi fails", async () => {
		const { capacity, warnings } = await detectCapacity(
			NOTHING_DECLARED,
			probes({
				runNvidiaSmi: async () => {
					throw new Error("Failed to initialize NVML: Driver/library version mismatch");
				},
			}),
		);
		expect(capacity.gpus).toEqual([]);
		expect(warnings).toEqual([
			"nvidia-smi failed (Failed to initialize NVML: Driver/library version mismatch): this node advertises no GPUs.",
		]);
	});

	it("uses declared figures instead of detecting them, and never runs nvidia-smi then", async () => {
		const runNvidiaSmi = jest.fn(async () => H200);
		const gpu = {
			index: 0,
			name: "NVIDIA L4",
			uuid: null,
			memoryTotalBytes: 1,
			memoryUsedBytes: 0,
			memoryFreeBytes: 1,
			utilizationPercent: null,
			computeCapability: null,
			driverVersion: null,
		};
		const { capacity } = await detectCapacity(
			{ cpus: 3, memoryBytes: 1000, gpus: [gpu] },
			probes({ runNvidiaSmi }),
		);
		expect(runNvidiaSmi).not.toHaveBeenCalled();
		expect(capacity).toMatchObject({
			cpus: 3,
			memoryBytes: 1000,
			gpus: [gpu],
			gpuSource: "declared",
		});
	});

	it("offers the CUDA providers only on a node with a GPU and the GPU builds installed", async () => {
		const gpuRuntimes = runtimeProbe(
			[
				"onnxruntime-node",
				"@tensorflow/tfjs-core",
				"@tensorflow/tfjs-backend-wasm",
				"@tensorflow/tfjs-node-gpu",
			],
			["libonnxruntime_providers_cuda.so"],
		);
		const withGpu = await detectCapacity(
			NOTHING_DECLARED,
			probes({ runNvidiaSmi: async () => H200, runtimes: gpuRuntimes }),
		);
		expect(withGpu.capacity.runtimes.slice(0, 2).map(r => r.executionProviders)).toEqual([
			["cpu", "cuda"],
			["wasm", "cuda"],
		]);
		const withoutGpu = await detectCapacity(
			NOTHING_DECLARED,
			probes({ runtimes: gpuRuntimes }),
		);
		expect(withoutGpu.capacity.runtimes.slice(0, 2).map(r => r.executionProviders)).toEqual([
			["cpu"],
			["wasm"],
		]);
	});
});
