import * as fs from "node:fs";
import {
	InvalidConfigurationError,
	InvalidInputError,
	ModelLoadError,
} from "../../../../lib/errors";
import type { Tensor } from "../../../../lib/inference/tensor";
import { writeOnnxModel, type OnnxModelSpec } from "../../../../lib/onnx/onnx-writer";
import type { OipDatatype } from "../../../../lib/model-spec/model-schema";
import {
	ONNX_MEMORY_FACTOR,
	ONNX_SESSION_BYTES,
	OnnxRuntime,
} from "../../../../lib/runtimes/onnx/onnx-runtime";
import { MLP_EXAMPLE, writeMlpModel } from "../../onnx/example-models";
import {
	maxRelativeError,
	rejection,
	seededRandom,
	temporaryFolder,
} from "../runtime-test-support";

const runtime = new OnnxRuntime();
const files = temporaryFolder();
const mlpPath = files.file("mlp.onnx", writeMlpModel());

function fp32(name: string, shape: number[], values: ArrayLike<number>): Tensor {
	return { name, datatype: "FP32", shape, data: Float32Array.from(values) };
}

function softmaxRows(logits: number[], width: number): number[] {
	const out: number[] = [];
	for (let r = 0; r < logits.length; r += width) {
		const row = logits.slice(r, r + width);
		const exps = row.map(v => Math.exp(v - Math.max(...row)));
		const sum = exps.reduce((a, b) => a + b, 0);
		out.push(...exps.map(e => e / sum));
	}
	return out;
}

/** A dense network 64 → 128 (ReLU) → 10 with seeded weights, and the same in plain TypeScript. */
function randomMlp() {
	const random = seededRandom(42);
	const sizes = [64, 128, 10];
	const layers = [0, 1].map(l => ({
		w: Float32Array.from({ length: sizes[l] * sizes[l + 1] }, () => random() * 0.3),
		b: Float32Array.from({ length: sizes[l + 1] }, () => random() * 0.1),
		inputs: sizes[l],
		outputs: sizes[l + 1],
	}));
	const spec: OnnxModelSpec = {
		graph: {
			nodes: [
				{ opType: "Gemm", inputs: ["x", "W0", "B0"], outputs: ["z0"] },
				{ opType: "Relu", inputs: ["z0"], outputs: ["h0"] },
				{ opType: "Gemm", inputs: ["h0", "W1", "B1"], outputs: ["y"] },
			],
			initializers: layers.flatMap((layer, l) => [
				{ name: `W${l}`, dims: [layer.inputs, layer.outputs], data: layer.w },
				{ name: `B${l}`, dims: [layer.outputs], data: layer.b },
			]),
			inputs: [{ name: "x", datatype: "FP32", shape: ["batch", 64] }],
			outputs: [{ name: "y", datatype: "FP32", shape: ["batch", 10] }],
		},
	};
	/** x[rows, 64] → y[rows, 10], in float64. */
	const reference = (x: Float32Array, rows: number): number[] => {
		let current = Array.from(x);
		layers.forEach((layer, l) => {
			const next: number[] = [];
			for (let r = 0; r < rows; r++) {
				for (let j = 0; j < layer.outputs; j++) {
					let sum = layer.b[j];
					for (let i = 0; i < layer.inputs; i++)
						sum += current[r * layer.inputs + i] * layer.w[i * layer.outputs + j];
					next.push(l === 0 ? Math.max(0, sum) : sum);
				}
			}
			current = next;
		});
		return current;
	};
	return { bytes: writeOnnxModel(spec), reference, random };
}

describe("OnnxRuntime", () => {
	it("runs the example MLP to its hand-worked logits, on the CPU provider", async () => {
		const model = await runtime.load(mlpPath);
		expect(model.format).toBe("onnx");
		expect(model.executionProvider).toBe("cpu");
		expect(model.schema).toEqual({
			inputs: [{ name: "x", datatype: "FP32", shape: [-1, 4] }],
			outputs: [
				{ name: "logits", datatype: "FP32", shape: [-1, 2] },
				{ name: "probabilities", datatype: "FP32", shape: [-1, 2] },
			],
		});
		const outputs = await model.run([fp32("x", [2, 4], MLP_EXAMPLE.x)]);
		expect(outputs.map(t => [t.name, t.datatype, t.shape])).toEqual([
			["logits", "FP32", [2, 2]],
			["probabilities", "FP32", [2, 2]],
		]);
		const [logits, probabilities] = outputs.map(t => t.data as Float32Array);
		expect(maxRelativeError(logits, MLP_EXAMPLE.logits)).toBeLessThanOrEqual(1e-5);
		expect(
			maxRelativeError(probabilities, softmaxRows(MLP_EXAMPLE.logits, 2)),
		).toBeLessThanOrEqual(1e-5);
		// Each output owns its buffer whole, so a worker thread can transfer it alone.
		expect(logits.buffer).not.toBe(probabilities.buffer);
		expect(logits.byteLength).toBe(logits.buffer.byteLength);
		await model.dispose();
	});

	it("matches a TypeScript matrix-multiply reference on a 64→128→10 MLP, batches of 1 and 37", async () => {
		const { bytes, reference, random } = randomMlp();
		const model = await runtime.load(files.file("mlp-64.onnx", bytes));
		for (const rows of [1, 37]) {
			const x = Float32Array.from({ length: rows * 64 }, () => random() * 2);
			const [y] = await model.run([fp32("x", [rows, 64], x)]);
			expect(y.shape).toEqual([rows, 10]);
			expect(
				maxRelativeError(y.data as Float32Array, reference(x, rows)),
			).toBeLessThanOrEqual(1e-5);
		}
		expect(model.memoryBytes).toBe(bytes.byteLength * ONNX_MEMORY_FACTOR + ONNX_SESSION_BYTES);
		await model.dispose();
	});

	it("gives only the outputs asked for, in the order asked", async () => {
		const model = await runtime.load(mlpPath);
		const x = fp32("x", [1, 4], MLP_EXAMPLE.x.slice(0, 4));
		const outputs = await model.run([x], ["probabilities"]);
		expect(outputs.map(t => t.name)).toEqual(["probabilities"]);
		expect((await model.run([x], ["probabilities", "logits"])).map(t => t.name)).toEqual([
			"probabilities",
			"logits",
		]);
		expect(await model.run([x], [])).toEqual([]);
		const error = await rejection(model.run([x], ["hidden"]));
		expect(error).toBeInstanceOf(InvalidInputError);
		await model.dispose();
	});

	it("carries every OIP datatype through, INT64, FP16 and BYTES included", async () => {
		const samples: [OipDatatype, Tensor["data"]][] = [
			["BOOL", Uint8Array.from([1, 0, 1, 1])],
			["UINT8", Uint8Array.from([0, 7, 200, 255])],
			["INT8", Int8Array.from([-128, -1, 0, 127])],
			["UINT16", Uint16Array.from([0, 1, 60000, 65535])],
			["INT16", Int16Array.from([-32768, -2, 3, 32767])],
			["UINT32", Uint32Array.from([0, 1, 3e9, 4294967295])],
			["INT32", Int32Array.from([-5, 0, 5, 2147483647])],
			["UINT64", BigUint64Array.from([0n, 1n, 2n ** 63n, 2n ** 64n - 1n])],
			["INT64", BigInt64Array.from([-(2n ** 63n), -1n, 2n ** 40n, 2n ** 63n - 1n])],
			["FP16", Uint16Array.from([0x3c00, 0xc000, 0x7bff, 0x0001])],
			["FP32", Float32Array.from([0.5, -1.25, 3e38, 1e-30])],
			["FP64", Float64Array.from([Math.PI, -1e300, 5e-324, 0])],
			["BYTES", ["a", "", "ünïcode", "x".repeat(100)]],
		];
		const bytes = writeOnnxModel({
			graph: {
				nodes: samples.map((_, i) => ({
					opType: "Identity",
					inputs: [`in${i}`],
					outputs: [`out${i}`],
				})),
				inputs: samples.map(([datatype], i) => ({
					name: `in${i}`,
					datatype,
					shape: ["n", 2],
				})),
				outputs: samples.map(([datatype], i) => ({
					name: `out${i}`,
					datatype,
					shape: ["n", 2],
				})),
			},
		});
		const model = await runtime.load(files.file("types.onnx", bytes));
		const inputs = samples.map(([datatype, data], i) => ({
			name: `in${i}`,
			datatype,
			shape: [2, 2],
			data,
		}));
		const outputs = await model.run(inputs);
		outputs.forEach((output, i) => {
			const [datatype, data] = samples[i];
			expect(output.datatype).toBe(datatype);
			expect(output.shape).toEqual([2, 2]);
			expect(Object.prototype.toString.call(output.data)).toBe(
				Object.prototype.toString.call(data),
			);
			expect([...output.data]).toEqual([...data]);
		});
		await model.dispose();
	});

	it("computes with INT64 inputs", async () => {
		const bytes = writeOnnxModel({
			graph: {
				nodes: [{ opType: "Add", inputs: ["ids", "offset"], outputs: ["shifted"] }],
				initializers: [
					{ name: "offset", dims: [1], data: BigInt64Array.from([2n ** 40n]) },
				],
				inputs: [{ name: "ids", datatype: "INT64", shape: ["batch", 3] }],
				outputs: [{ name: "shifted", datatype: "INT64", shape: ["batch", 3] }],
			},
		});
		const model = await runtime.load(files.file("int64.onnx", bytes));
		const [shifted] = await model.run([
			{
				name: "ids",
				datatype: "INT64",
				shape: [1, 3],
				data: BigInt64Array.from([1n, -1n, 0n]),
			},
		]);
		expect([...(shifted.data as BigInt64Array)]).toEqual([
			2n ** 40n + 1n,
			2n ** 40n - 1n,
			2n ** 40n,
		]);
		await model.dispose();
	});

	it("refuses inputs of the wrong datatype, shape or name before onnxruntime sees them", async () => {
		const model = await runtime.load(mlpPath);
		const cases: [Tensor, RegExp][] = [
			[
				{ name: "x", datatype: "FP64", shape: [1, 4], data: new Float64Array(4) },
				/FP64, but the model takes FP32/,
			],
			[
				fp32("x", [1, 5], new Float32Array(5)),
				/shape \[1, 5\], but the model takes \[-1, 4\]/,
			],
			[fp32("x", [2, 4], new Float32Array(4)), /\(8 values\) but 4 values/],
			[fp32("y", [1, 4], new Float32Array(4)), /no input 'y'; its inputs are: x/],
			[
				{ name: "x", datatype: "FP32", shape: [1, 4], data: new Float64Array(4) },
				/not a Float32Array/,
			],
		];
		for (const [tensor, message] of cases) {
			const error = await rejection(model.run([tensor]));
			expect(error).toBeInstanceOf(InvalidInputError);
			expect(error.message).toMatch(message);
		}
		expect((await rejection(model.run([]))).message).toMatch(/Input 'x' is missing/);
		await model.dispose();
	});

	it("falls back to the CPU with a warning when CUDA is asked for and this build lacks it", async () => {
		const warn = jest.fn();
		const model = await runtime.load(mlpPath, { executionProviders: ["cuda"], warn });
		expect(model.executionProvider).toBe("cpu");
		expect(warn).toHaveBeenCalledTimes(1);
		expect(warn.mock.calls[0][0]).toMatch(/running on 'cpu' instead of 'cuda': .*lacks/);
		const [logits] = await model.run([fp32("x", [2, 4], MLP_EXAMPLE.x)], ["logits"]);
		expect(
			maxRelativeError(logits.data as Float32Array, MLP_EXAMPLE.logits),
		).toBeLessThanOrEqual(1e-5);
		await model.dispose();
	});

	it("takes thread counts, and refuses ones that are not positive whole numbers", async () => {
		const model = await runtime.load(mlpPath, { intraOpThreads: 2, interOpThreads: 2 });
		expect((await model.run([fp32("x", [1, 4], [1, 2, 3, 4])]))[0].shape).toEqual([1, 2]);
		await model.dispose();
		const error = await rejection(runtime.load(mlpPath, { intraOpThreads: 0 }));
		expect(error).toBeInstanceOf(InvalidConfigurationError);
		expect(error.message).toMatch(/intraOpThreads: 0 is not a positive whole number/);
	});

	it("cannot run once disposed, and waits for runs in flight", async () => {
		const model = await runtime.load(mlpPath);
		const running = model.run([fp32("x", [2, 4], MLP_EXAMPLE.x)]);
		await model.dispose();
		expect((await running).length).toBe(2);
		const error = await rejection(model.run([fp32("x", [2, 4], MLP_EXAMPLE.x)]));
		expect(error).toBeInstanceOf(ModelLoadError);
		await model.dispose();
	});

	it.each([
		["garbage", () => Buffer.from("this is not a protobuf at all")],
		["a truncated model", () => Buffer.from(writeMlpModel().subarray(0, 60))],
		["an empty file", () => Buffer.alloc(0)],
	])("refuses %s with a ModelLoadError, never a crash", async (label, bytes) => {
		const filePath = files.file(`${label.replace(/\W/g, "-")}.onnx`, bytes());
		const error = await rejection(runtime.load(filePath));
		expect(error).toBeInstanceOf(ModelLoadError);
		expect(error.message).toMatch(/could not be loaded: onnxruntime cannot load it: /);
		expect(error.message).not.toContain(filePath);
	});

	it("gives a ModelLoadError for a file that is not there", async () => {
		const error = await rejection(runtime.load(files.file("absent.onnx")));
		expect(error).toBeInstanceOf(ModelLoadError);
		expect(fs.existsSync(files.file("absent.onnx"))).toBe(false);
	});
});
