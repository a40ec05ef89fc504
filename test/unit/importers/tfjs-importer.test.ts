import type { SymbolicTensor } from "@tensorflow/tfjs";
import { InvalidModelFileError } from "../../../lib/errors";
import { TfjsImporter } from "../../../lib/importers/tfjs-importer";
import { loadTfjs, type TfModule } from "../../../lib/runtimes/tfjs/load-tfjs";
import {
	modelFolderEntries,
	packTar,
	saveArtifacts,
	temporaryFolder,
	type TarEntry,
} from "./importer-test-files";

const files = temporaryFolder();
const importer = new TfjsImporter();
let tf: TfModule;

beforeAll(async () => {
	tf = await loadTfjs();
});

async function tarFile(name: string, entries: TarEntry[], gzip = false): Promise<string> {
	return files.file(name, await packTar(entries, { gzip }));
}

async function sequentialEntries(options: { shards?: number; folder?: string } = {}) {
	const model = tf.sequential({
		layers: [
			tf.layers.dense({ inputShape: [4], units: 8, activation: "relu", name: "hidden" }),
			tf.layers.dense({ units: 3, activation: "softmax", name: "species" }),
		],
	});
	try {
		return modelFolderEntries(await saveArtifacts(tf, model), options);
	} finally {
		model.dispose();
	}
}

/** y = x·W with W [3, 2], as tfjs-converter writes a graph model. */
function graphEntries(options: { signature: boolean }): TarEntry[] {
	const dim = (sizes: number[]) => ({ dim: sizes.map(size => ({ size: String(size) })) });
	const modelJson = {
		format: "graph-model",
		generatedBy: "2.15.0",
		convertedBy: "TensorFlow.js Converter v4.22.0",
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
				{
					name: "y",
					op: "MatMul",
					input: ["x", "W"],
					attr: {
						T: { type: "DT_FLOAT" },
						transpose_a: { b: false },
						transpose_b: { b: false },
					},
				},
			],
			library: {},
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
	return [
		{ name: "model.json", data: JSON.stringify(modelJson) },
		{ name: "weights.bin", data: new Uint8Array(Float32Array.from([1, 2, 3, 4, 5, 6]).buffer) },
	];
}

async function importError(filePath: string): Promise<InvalidModelFileError> {
	const error = await importer.import(filePath).catch((e: unknown) => e);
	expect(error).toBeInstanceOf(InvalidModelFileError);
	return error as InvalidModelFileError;
}

describe("TfjsImporter", () => {
	it("loads with TF.js's WebAssembly backend", () => {
		expect(tf.getBackend()).toBe("wasm");
	});

	it("imports a layers model saved by TF.js, named after its layers", async () => {
		const before = tf.memory().numTensors;
		const imported = await importer.import(await tarFile("seq.tar", await sequentialEntries()));
		expect(imported.format).toBe("tfjs");
		expect(imported.schema).toEqual({
			inputs: [{ name: "hidden_input", datatype: "FP32", shape: [-1, 4] }],
			outputs: [{ name: "species", datatype: "FP32", shape: [-1, 3] }],
		});
		expect(imported.details).toMatchObject({
			modelType: "layers",
			weightBytes: (4 * 8 + 8 + 8 * 3 + 3) * 4,
			weightFiles: 1,
		});
		expect(tf.memory().numTensors).toBe(before);
	});

	it("reads weights split over several shards, in a folder, from a .tar.gz", async () => {
		const entries = await sequentialEntries({ shards: 3, folder: "iris-model" });
		const imported = await importer.import(await tarFile("seq.tgz", entries, true));
		expect(imported.details).toMatchObject({
			weightFiles: 3,
			modelJsonPath: "iris-model/model.json",
		});
		expect(imported.schema.outputs[0].shape).toEqual([-1, 3]);
	});

	it("gives each input and output of a functional model with its dtype and shape", async () => {
		const features = tf.input({ shape: [3], name: "features", dtype: "int32" });
		const image = tf.input({ shape: [2, 2], name: "image" });
		const flat = tf.layers.flatten().apply(image) as SymbolicTensor;
		const merged = tf.layers.concatenate().apply([features, flat]) as SymbolicTensor;
		const score = tf.layers.dense({ units: 1, name: "score" }).apply(merged) as SymbolicTensor;
		const label = tf.layers.dense({ units: 4, name: "label" }).apply(merged) as SymbolicTensor;
		const model = tf.model({ inputs: [features, image], outputs: [score, label] });
		const entries = modelFolderEntries(await saveArtifacts(tf, model));
		model.dispose();
		const imported = await importer.import(await tarFile("functional.tar", entries));
		expect(imported.schema).toEqual({
			inputs: [
				{ name: "features", datatype: "INT32", shape: [-1, 3] },
				{ name: "image", datatype: "FP32", shape: [-1, 2, 2] },
			],
			outputs: [
				{ name: "score", datatype: "FP32", shape: [-1, 1] },
				{ name: "label", datatype: "FP32", shape: [-1, 4] },
			],
		});
	});

	it("imports a graph model with a signature, by its signature names", async () => {
		const imported = await importer.import(
			await tarFile("graph.tar", graphEntries({ signature: true })),
		);
		expect(imported.schema).toEqual({
			inputs: [{ name: "features", datatype: "FP32", shape: [-1, 3] }],
			outputs: [{ name: "scores", datatype: "FP32", shape: [-1, 2] }],
		});
		expect(imported.details).toMatchObject({
			modelType: "graph",
			weightBytes: 24,
			convertedBy: "TensorFlow.js Converter v4.22.0",
		});
	});

	it("learns a graph model's output shape by a run on zeros when nothing states it", async () => {
		const before = tf.memory().numTensors;
		const imported = await importer.import(
			await tarFile("graph-nosig.tar", graphEntries({ signature: false })),
		);
		expect(imported.schema).toEqual({
			inputs: [{ name: "x", datatype: "FP32", shape: [-1, 3] }],
			outputs: [{ name: "y", datatype: "FP32", shape: [-1, 2] }],
		});
		expect(imported.details.outputShapesFrom).toBe("a run on zeros");
		expect(tf.memory().numTensors).toBe(before);
	});

	it("refuses garbage that is not a tar, with the tar parser's reason", async () => {
		const error = await importError(files.file("garbage.tar", "x".repeat(2048)));
		expect(error.type).toBe("INVALID_MODEL_FILE");
		expect(error.message).toMatch(/^The file is not a valid TF\.js model: not a readable tar/);
	});

	it("refuses a truncated tar", async () => {
		const bytes = await packTar(await sequentialEntries());
		const error = await importError(files.file("cut.tar", bytes.subarray(0, 700)));
		expect(error.message).toMatch(/not a readable tar archive: .+/);
	});

	it("refuses a tar without model.json, saying what it holds", async () => {
		const error = await importError(
			await tarFile("nojson.tar", [{ name: "weights.bin", data: "abc" }]),
		);
		expect(error.message).toMatch(/the tar holds no model\.json \(it holds: weights\.bin\)/);
	});

	it("refuses a model whose weight file is missing or short", async () => {
		const entries = await sequentialEntries();
		const missing = await importError(await tarFile("missing.tar", entries.slice(0, 1)));
		expect(missing.message).toMatch(
			/names weight file 'group1-shard1of1.bin', which the tar does not hold/,
		);
		const short = [entries[0], { ...entries[1], data: entries[1].data.slice(0, 100) }];
		const error = await importError(await tarFile("short.tar", short));
		expect(error.message).toMatch(/hold 100 bytes but its weights need 268/);
	});

	it("refuses a model.json TF.js cannot load, with TF.js's reason", async () => {
		const entries = await sequentialEntries();
		const json = JSON.parse(String(entries[0].data));
		json.modelTopology = { foo: 1 };
		const error = await importError(
			await tarFile("badtopo.tar", [
				{ name: "model.json", data: JSON.stringify(json) },
				entries[1],
			]),
		);
		expect(error.message).toMatch(/TF\.js cannot load it: .*Improper config format/);
	});

	it("refuses a model.json that is not JSON", async () => {
		const error = await importError(
			await tarFile("notjson.tar", [{ name: "model.json", data: '{"modelTopology": ' }]),
		);
		expect(error.message).toMatch(/model\.json is not valid JSON/);
	});
});
