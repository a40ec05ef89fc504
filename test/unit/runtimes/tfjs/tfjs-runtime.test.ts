import type { LayersModel, SymbolicTensor, Tensor as TfTensor } from "@tensorflow/tfjs";
import { InvalidInputError, ModelLoadError } from "../../../../lib/errors";
import { loadTfjs, type TfModule } from "../../../../lib/runtimes/tfjs/load-tfjs";
import type { Tensor } from "../../../../lib/inference/tensor";
import { TfjsRuntime } from "../../../../lib/runtimes/tfjs/tfjs-runtime";
import {
	maxRelativeError,
	modelFolderEntries,
	packTar,
	rejection,
	saveArtifacts,
	seededRandom,
	temporaryFolder,
} from "../runtime-test-support";

const runtime = new TfjsRuntime();
const files = temporaryFolder();
let tf: TfModule;

beforeAll(async () => {
	tf = await loadTfjs();
});

/** Saves the model into a tar the way the importer takes it, weights in `shards` files. */
async function tarOf(name: string, model: LayersModel, shards = 1): Promise<string> {
	const entries = modelFolderEntries(await saveArtifacts(tf, model), { shards });
	return files.file(name, await packTar(entries));
}

function sequentialModel(): LayersModel {
	return tf.sequential({
		layers: [
			tf.layers.dense({ inputShape: [4], units: 8, activation: "relu", name: "hidden" }),
			tf.layers.dense({ units: 3, activation: "softmax", name: "species" }),
		],
	});
}

function fp32(name: string, shape: number[], data: Float32Array): Tensor {
	return { name, datatype: "FP32", shape, data };
}

function randomRows(rows: number, width: number, seed = 7): Float32Array {
	const random = seededRandom(seed);
	return Float32Array.from({ length: rows * width }, () => random() * 3);
}

/** y = x·W with W [3, 2] as tfjs-converter writes a graph model. */
async function graphModelTar(options: { signature: boolean }): Promise<string> {
	const dim = (sizes: number[]) => ({ dim: sizes.map(size => ({ size: String(size) })) });
	const modelJson = {
		format: "graph-model",
		modelTopology: {
			node: [
				{
					name: "x",
					op: "Placeholder",
					attr: { dtype: { type: "DT_FLOAT" }, shape: { shape: dim([-1, 3]) } },
				},
				{
					name: "W",
					op: "Const",
					attr: {
						dtype: { type: "DT_FLOAT" },
						value: { tensor: { dtype: "DT_FLOAT", tensorShape: dim([3, 2]) } },
					},
				},
				{ name: "y", op: "MatMul", input: ["x", "W"], attr: { T: { type: "DT_FLOAT" } } },
			],
			versions: { producer: 1 },
		},
		...(options.signature
			? {
					signature: {
						inputs: {
							features: { name: "x:0", dtype: "DT_FLOAT", tensorShape: dim([-1, 3]) },
						},
						outputs: {
							scores: { name: "y:0", dtype: "DT_FLOAT", tensorShape: dim([-1, 2]) },
						},
					},
				}
			: {}),
		weightsManifest: [
			{ paths: ["weights.bin"], weights: [{ name: "W", shape: [3, 2], dtype: "float32" }] },
		],
	};
	const weights = new Uint8Array(Float32Array.from([1, 2, 3, 4, 5, 6]).buffer);
	const bytes = await packTar([
		{ name: "model.json", data: JSON.stringify(modelJson) },
		{ name: "weights.bin", data: weights },
	]);
	return files.file(`graph-${options.signature}.tar`, bytes);
}

describe("TfjsRuntime", () => {
	it("runs a layers model as model.predict does, batches of 1 and 5, on wasm", async () => {
		const reference = sequentialModel();
		const filePath = await tarOf("sequential.tar", reference, 2);
		const model = await runtime.load(filePath);
		expect(model.format).toBe("tfjs");
		expect(model.executionProvider).toBe("wasm");
		expect(model.schema).toEqual({
			inputs: [{ name: "hidden_input", datatype: "FP32", shape: [-1, 4] }],
			outputs: [{ name: "species", datatype: "FP32", shape: [-1, 3] }],
		});
		for (const rows of [1, 5]) {
			const x = randomRows(rows, 4, rows);
			const [species] = await model.run([fp32("hidden_input", [rows, 4], x)]);
			expect(species.name).toBe("species");
			expect(species.shape).toEqual([rows, 3]);
			const expected = tf.tidy(() =>
				(reference.predict(tf.tensor(x, [rows, 4])) as TfTensor).dataSync(),
			);
			expect(
				maxRelativeError(species.data as Float32Array, expected as Float32Array),
			).toBeLessThanOrEqual(1e-5);
		}
		expect(model.memoryBytes).toBe((4 * 8 + 8 + 8 * 3 + 3) * 4);
		reference.dispose();
		await model.dispose();
	});

	it("leaves no tensor behind after a run, nor after dispose", async () => {
		const reference = sequentialModel();
		const filePath = await tarOf("leaks.tar", reference);
		reference.dispose();
		const before = tf.memory().numTensors;
		const model = await runtime.load(filePath);
		const loaded = tf.memory().numTensors;
		await model.run([fp32("hidden_input", [3, 4], randomRows(3, 4))]);
		expect(tf.memory().numTensors).toBe(loaded);
		await model.dispose();
		expect(tf.memory().numTensors).toBe(before);
		const error = await rejection(
			model.run([fp32("hidden_input", [1, 4], new Float32Array(4))]),
		);
		expect(error).toBeInstanceOf(ModelLoadError);
	});

	it("gives the outputs asked for of a functional model with INT32 and FP32 inputs", async () => {
		const ids = tf.input({ shape: [3], name: "ids", dtype: "int32" });
		const image = tf.input({ shape: [2, 2], name: "image" });
		const flat = tf.layers.flatten().apply(image) as SymbolicTensor;
		const merged = tf.layers.concatenate().apply([ids, flat]) as SymbolicTensor;
		const score = tf.layers.dense({ units: 1, name: "score" }).apply(merged) as SymbolicTensor;
		const label = tf.layers.dense({ units: 4, name: "label" }).apply(merged) as SymbolicTensor;
		const reference = tf.model({ inputs: [ids, image], outputs: [score, label] });
		const model = await runtime.load(await tarOf("functional.tar", reference));
		const inputs: Tensor[] = [
			fp32("image", [2, 2, 2], randomRows(2, 4)),
			{
				name: "ids",
				datatype: "INT32",
				shape: [2, 3],
				data: Int32Array.from([1, 2, 3, 4, 5, 6]),
			},
		];
		const outputs = await model.run(inputs, ["label"]);
		expect(outputs.map(t => [t.name, t.shape])).toEqual([["label", [2, 4]]]);
		const expected = tf.tidy(() => {
			const [, labels] = reference.predict([
				tf.tensor(inputs[1].data as Int32Array, [2, 3], "int32"),
				tf.tensor(inputs[0].data as Float32Array, [2, 2, 2]),
			]) as TfTensor[];
			return labels.dataSync();
		});
		expect(
			maxRelativeError(outputs[0].data as Float32Array, expected as Float32Array),
		).toBeLessThanOrEqual(1e-5);
		expect((await model.run(inputs)).map(t => t.name)).toEqual(["score", "label"]);
		const error = await rejection(model.run(inputs, ["merged"]));
		expect(error).toBeInstanceOf(InvalidInputError);
		reference.dispose();
		await model.dispose();
	});

	it("runs a graph model by its signature names", async () => {
		const model = await runtime.load(await graphModelTar({ signature: true }));
		expect(model.schema).toEqual({
			inputs: [{ name: "features", datatype: "FP32", shape: [-1, 3] }],
			outputs: [{ name: "scores", datatype: "FP32", shape: [-1, 2] }],
		});
		const x = Float32Array.from([1, 0, 0, 1, 1, 1]);
		const [scores] = await model.run([fp32("features", [2, 3], x)]);
		expect(scores.shape).toEqual([2, 2]);
		expect([...(scores.data as Float32Array)]).toEqual([1, 2, 9, 12]);
		expect(model.memoryBytes).toBe(24);
		await model.dispose();
	});

	it("learns a graph model's output shape by a run on zeros when nothing states it", async () => {
		const before = tf.memory().numTensors;
		const model = await runtime.load(await graphModelTar({ signature: false }));
		expect(model.schema).toEqual({
			inputs: [{ name: "x", datatype: "FP32", shape: [-1, 3] }],
			outputs: [{ name: "y", datatype: "FP32", shape: [-1, 2] }],
		});
		const [y] = await model.run([fp32("x", [1, 3], Float32Array.from([0, 1, 0]))]);
		expect([...(y.data as Float32Array)]).toEqual([3, 4]);
		await model.dispose();
		expect(tf.memory().numTensors).toBe(before);
	});

	it("refuses an input of another datatype", async () => {
		const reference = sequentialModel();
		const model = await runtime.load(await tarOf("dtype.tar", reference));
		reference.dispose();
		const ints: Tensor = {
			name: "hidden_input",
			datatype: "INT32",
			shape: [1, 4],
			data: new Int32Array(4),
		};
		expect((await rejection(model.run([ints]))).message).toMatch(
			/INT32, but the model takes FP32/,
		);
		await model.dispose();
	});

	it("warns that it runs on wasm when CUDA is asked for", async () => {
		const reference = sequentialModel();
		const filePath = await tarOf("cuda.tar", reference);
		reference.dispose();
		const warn = jest.fn();
		const model = await runtime.load(filePath, { executionProviders: ["cuda", "cpu"], warn });
		expect(model.executionProvider).toBe("wasm");
		expect(warn).toHaveBeenCalledWith(expect.stringMatching(/'cuda' is not available.*'wasm'/));
		await model.dispose();
	});

	it.each([
		["garbage", async () => Buffer.from("x".repeat(2048))],
		["a tar without model.json", () => packTar([{ name: "weights.bin", data: "abc" }])],
		[
			"a truncated tar",
			async () => {
				const reference = sequentialModel();
				const entries = modelFolderEntries(await saveArtifacts(tf, reference));
				reference.dispose();
				return (await packTar(entries)).subarray(0, 700);
			},
		],
	])("refuses %s with a ModelLoadError", async (label, bytes) => {
		const filePath = files.file(`${label.replace(/\W/g, "-")}.tar`, await bytes());
		const error = await rejection(runtime.load(filePath));
		expect(error).toBeInstanceOf(ModelLoadError);
		expect(error.message).toMatch(/could not be loaded: TF\.js cannot load it: /);
		expect(error.message).not.toContain(filePath);
	});
});
