/**
 * A trained network as a TF.js layers model: to predict with (the "TF.js model" whose outputs
 * the ONNX export must match) and to save as model.json + weights.bin, the version's second
 * format, which lib/runtimes/tfjs/tfjs-artifacts.ts reads back. Dropout is gone (inference only);
 * the input is named "input" and the output "probabilities" or "prediction", as in the ONNX
 * export and the version schema.
 */
import type { LayersModel, Tensor, Tensor2D, io } from "@tensorflow/tfjs";
import type { TfModule } from "../runtimes/tfjs/load-tfjs";
import { outputName } from "./dense-network";
import type { TfjsModelFiles, TrainedNetwork } from "./training-types";

/** Rows per forward pass when predicting. */
const PREDICT_BATCH = 4096;

/** The network as a TF.js layers model: input "input", dense layers, output named by outputName. */
export function layersModel(tf: TfModule, network: TrainedNetwork): LayersModel {
	const initial: Tensor[] = [];
	try {
		const input = tf.input({ shape: [network.inputWidth], name: "input" });
		let h = input;
		network.layers.forEach((layer, i) => {
			const last = i === network.layers.length - 1;
			const weights = [
				tf.tensor2d(layer.kernel, [layer.inputs, layer.units]),
				tf.tensor1d(layer.bias),
			];
			initial.push(...weights);
			h = tf.layers
				.dense({
					units: layer.units,
					activation: layer.activation,
					name: last ? outputName(network) : `dense_${i + 1}`,
					weights,
				})
				.apply(h) as typeof input;
		});
		return tf.model({ inputs: input, outputs: h, name: "modelfleet_dense" });
	} finally {
		// The layers hold their own copies once built.
		tf.dispose(initial);
	}
}

/** Predictions of `rows` rows: probabilities [rows, classes] or values [rows]. */
export function predictWith(
	tf: TfModule,
	model: LayersModel,
	network: TrainedNetwork,
	x: Float32Array,
	rows: number,
): Float32Array {
	const outputs = network.layers[network.layers.length - 1].units;
	const out = new Float32Array(rows * outputs);
	for (let from = 0; from < rows; from += PREDICT_BATCH) {
		const n = Math.min(PREDICT_BATCH, rows - from);
		const result = tf.tidy(() => {
			const batch = tf.tensor2d(
				x.subarray(from * network.inputWidth, (from + n) * network.inputWidth),
				[n, network.inputWidth],
			);
			return model.predict(batch) as Tensor2D;
		});
		out.set(result.dataSync() as Float32Array, from * outputs);
		result.dispose();
	}
	return out;
}

/** model.json and its one weights file, as `tfjsArtifactsFromFiles` reads them back. */
export async function saveLayersModel(tf: TfModule, model: LayersModel): Promise<TfjsModelFiles> {
	let saved: io.ModelArtifacts | undefined;
	await model.save(
		tf.io.withSaveHandler(async artifacts => {
			saved = artifacts;
			return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
		}),
	);
	const artifacts = saved as io.ModelArtifacts;
	const weightsPath = "weights.bin";
	const data = artifacts.weightData;
	const buffer =
		data === undefined
			? new ArrayBuffer(0)
			: Array.isArray(data)
				? tf.io.CompositeArrayBuffer.join(data)
				: (data as ArrayBuffer);
	const modelJson = JSON.stringify({
		format: "layers-model",
		generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
		convertedBy: "modelfleet",
		modelTopology: artifacts.modelTopology,
		weightsManifest: [{ paths: [weightsPath], weights: artifacts.weightSpecs ?? [] }],
	});
	return { modelJson, weightsPath, weights: new Uint8Array(buffer) };
}
