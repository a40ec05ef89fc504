import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import type { Tensor } from "@tensorflow/tfjs";
import * as ort from "onnxruntime-node";
import { InvalidInputError } from "../../../lib/errors";
import { TfjsImporter } from "../../../lib/importers/tfjs-importer";
import { convertRecipe, validateConvertParams } from "../../../lib/optimization/convert-recipe";
import { layersModelTar, layersModelTarOutputs } from "../../../lib/optimization/tfjs-source";
import { loadTfjs, type TfModule } from "../../../lib/runtimes/tfjs/load-tfjs";

let tf: TfModule;

beforeAll(async () => {
	tf = await loadTfjs();
});

function convert(sourceFile: Uint8Array) {
	return convertRecipe.run({
		sourceFile,
		sourceFormat: "tfjs",
		params: validateConvertParams(undefined),
		dataset: null,
		signal: new AbortController().signal,
		progress: () => undefined,
	});
}

describe("the convert recipe", () => {
	it("converts an imported TF.js tar to ONNX with the importer's input and output names, outputs within 1e-5", async () => {
		const model = tf.sequential({ name: "imported" });
		model.add(
			tf.layers.dense({ inputShape: [4], units: 16, activation: "tanh", name: "hidden" }),
		);
		model.add(tf.layers.batchNormalization({ name: "norm" }));
		model.add(tf.layers.dropout({ rate: 0.3 }));
		model.add(tf.layers.dense({ units: 3, activation: "softmax", name: "scores" }));
		const tar = await layersModelTar(tf, model);
		const x = Float32Array.from({ length: 40 }, (_, i) => Math.sin(i * 1.7) * 2);
		const expected = tf.tidy(
			() => (model.predict(tf.tensor2d(x, [10, 4])) as Tensor).dataSync() as Float32Array,
		);
		model.dispose();

		// The schema the TF.js importer registers for this tar: the converted file must fit it.
		const dir = await fs.mkdtemp(path.join(os.tmpdir(), "convert-recipe-"));
		const file = path.join(dir, "model.tar");
		await fs.writeFile(file, tar);
		const imported = await new TfjsImporter().import(file);
		await fs.rm(dir, { recursive: true });

		const output = await convert(tar);
		expect(output.format).toBe("onnx");
		expect(output.notes[0]).toMatch(
			/Converted 4 TF\.js layers \(Dense, BatchNormalization, Dropout\)/,
		);
		const session = await ort.InferenceSession.create(output.file);
		try {
			expect(session.inputNames).toEqual(imported.schema.inputs.map(i => i.name));
			expect(session.outputNames).toEqual(imported.schema.outputs.map(o => o.name));
			const result = await session.run({
				[session.inputNames[0]]: new ort.Tensor("float32", x, [10, 4]),
			});
			const actual = result[session.outputNames[0]].data as Float32Array;
			let worst = 0;
			for (let i = 0; i < actual.length; i++)
				worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
			expect(worst).toBeLessThanOrEqual(1e-5);
			// What an evaluation of the conversion reads from the TF.js source: the same values.
			expect(await layersModelTarOutputs(tar, x, 10, 4)).toEqual(expected);
		} finally {
			await session.release();
		}
	});

	it("refuses a tar whose model has a layer ONNX cannot express here, naming it", async () => {
		const model = tf.sequential();
		model.add(
			tf.layers.embedding({ inputDim: 10, outputDim: 4, inputLength: 3, name: "words" }),
		);
		model.add(tf.layers.flatten());
		const tar = await layersModelTar(tf, model);
		model.dispose();
		await expect(convert(tar)).rejects.toThrow(
			/Layer 'words' is a Embedding, which cannot be converted/,
		);
	});

	it("takes no params", () => {
		expect(validateConvertParams({})).toEqual({});
		expect(() => validateConvertParams({ opset: 13 })).toThrow(InvalidInputError);
	});
});
