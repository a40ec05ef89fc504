/**
 * A TF.js layers model in and out of the tar a version holds (model.json + weight files, as the
 * importer accepts it and the trainer writes it): loaded on the process's TF.js (wasm backend)
 * through the same reading the runtime uses (tfjs-artifacts.ts), and saved back as one tar.
 * A graph model (a converted TensorFlow SavedModel) has no layers to prune or convert: refused.
 * `layersModelTarOutputs` runs such a tar on rows, for an evaluation whose source is TF.js.
 */
import { randomUUID } from "node:crypto";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import type { LayersModel } from "@tensorflow/tfjs";
import { InvalidInputError, InvalidModelFileError } from "../errors";
import { reasonOf } from "../files/error-reasons";
import { readTarFiles } from "../files/tar-files";
import { loadTfjs, type TfModule } from "../runtimes/tfjs/load-tfjs";
import { tfjsArtifactsFromFiles } from "../runtimes/tfjs/tfjs-artifacts";
import { saveLayersModel } from "../training/tfjs-export";
import { tfjsTar } from "../training/tfjs-tar";

/** The tar's files by path; the tar goes through a private temporary file (the reader streams one). */
async function tarFiles(bytes: Uint8Array): Promise<Map<string, Buffer>> {
	const dir = await fs.mkdtemp(path.join(os.tmpdir(), "modelfleet-tfjs-"));
	const file = path.join(dir, `${randomUUID()}.tar`);
	try {
		await fs.writeFile(file, bytes, { mode: 0o600 });
		const gzip = bytes[0] === 0x1f && bytes[1] === 0x8b;
		return await readTarFiles(file, { gzip });
	} finally {
		await fs.rm(dir, { recursive: true, force: true });
	}
}

/** The layers model the tar holds; the caller disposes it. */
export async function loadLayersModelTar(tf: TfModule, bytes: Uint8Array): Promise<LayersModel> {
	let files: Map<string, Buffer>;
	try {
		files = await tarFiles(bytes);
	} catch (error) {
		throw new InvalidModelFileError("TF.js", `not a readable tar archive: ${reasonOf(error)}`);
	}
	const { artifacts, modelType } = tfjsArtifactsFromFiles(files);
	if (modelType !== "layers")
		throw new InvalidInputError(
			"The source is a TF.js graph model (converted from TensorFlow); only a TF.js layers model has the layers this recipe works on.",
			{ field: "sourceFormat" },
		);
	try {
		return await tf.loadLayersModel(tf.io.fromMemory(artifacts), { strict: true });
	} catch (error) {
		throw new InvalidModelFileError("TF.js", `TF.js cannot load it: ${reasonOf(error)}`);
	}
}

/** The model as a tar of model.json and weights.bin. */
export async function layersModelTar(tf: TfModule, model: LayersModel): Promise<Uint8Array> {
	return tfjsTar(await saveLayersModel(tf, model));
}

/** Rows per forward pass in layersModelTarOutputs. */
const PREDICT_BATCH = 1024;

/**
 * The layers model's (first) output for the rows, row-major: what a TF.js source gives where
 * an evaluation compares it with its ONNX conversion. Each row's `width` values are shaped to
 * the model's input dims ([rows, 64] or [rows, 8, 8, 1], say).
 */
export async function layersModelTarOutputs(
	bytes: Uint8Array,
	features: Float32Array,
	rows: number,
	width: number,
): Promise<Float32Array> {
	const tf = await loadTfjs();
	const model = await loadLayersModelTar(tf, bytes);
	try {
		const dims = model.inputs[0].shape.slice(1).map(d => d ?? width);
		if (dims.reduce((a, b) => a * b, 1) !== width)
			throw new InvalidInputError(
				`the rows have ${width} values but the model's input takes [${dims.join(", ")}] per row`,
				{ field: "dataset" },
			);
		let out = new Float32Array(0);
		for (let start = 0; start < rows; start += PREDICT_BATCH) {
			const count = Math.min(PREDICT_BATCH, rows - start);
			const slice = features.subarray(start * width, (start + count) * width);
			const output = tf.tidy(() => {
				const result = model.predict(tf.tensor(slice, [count, ...dims]));
				return Array.isArray(result) ? result[0] : result;
			});
			const values = output.dataSync() as Float32Array;
			output.dispose();
			// The output width is known after the first batch: size the whole result then.
			if (start === 0) out = new Float32Array((values.length / count) * rows);
			out.set(values, (start * values.length) / count);
		}
		return out;
	} finally {
		model.dispose();
	}
}
