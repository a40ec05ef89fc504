import * as ort from "onnxruntime-node";
import { SeededRandom } from "../../../lib/datasets/seeded-random";
import type { TfModule } from "../../../lib/runtimes/tfjs/load-tfjs";
import { tfjsArtifactsFromFiles } from "../../../lib/runtimes/tfjs/tfjs-artifacts";
import { ACTIVATIONS } from "../../../lib/training/job-spec";
import { initialWeights } from "../../../lib/training/dense-network";
import { exportOnnx } from "../../../lib/training/onnx-export";
import { loadTrainingBackend } from "../../../lib/training/tfjs-backend";
import { layersModel, predictWith, saveLayersModel } from "../../../lib/training/tfjs-export";
import type { TrainedNetwork } from "../../../lib/training/training-types";
import { forwardReference, maxRelativeDifference } from "./network-reference";

let tf: TfModule;

beforeAll(async () => {
	({ tf } = await loadTrainingBackend("wasm", false));
});

/** A network with one hidden layer per activation, random weights and biases. */
function network(task: "classification" | "regression"): TrainedNetwork {
	const random = new SeededRandom(11);
	const hidden = ACTIVATIONS.map(activation => ({ units: 5, activation, dropout: 0 }));
	const layers = initialWeights(4, hidden, task === "classification" ? 3 : 1, random).map(
		layer => ({
			...layer,
			bias: layer.bias.map(() => random.next() - 0.5),
		}),
	);
	layers[layers.length - 1].activation = task === "classification" ? "softmax" : "linear";
	return { task, inputWidth: 4, layers };
}

const ROWS = 64;
const X = (() => {
	const random = new SeededRandom(12);
	return Float32Array.from({ length: ROWS * 4 }, () => random.next() * 6 - 3);
})();

async function runOnnx(bytes: Uint8Array, name: string): Promise<Float32Array> {
	const session = await ort.InferenceSession.create(bytes);
	try {
		const out = await session.run({ input: new ort.Tensor("float32", X, [ROWS, 4]) });
		expect(Object.keys(out)).toEqual([name]);
		return out[name].data as Float32Array;
	} finally {
		await session.release();
	}
}

function tfjsPredictions(net: TrainedNetwork): Float32Array {
	const model = layersModel(tf, net);
	try {
		return predictWith(tf, model, net, X, ROWS);
	} finally {
		model.dispose();
	}
}

describe("exportOnnx", () => {
	it.each(["classification", "regression"] as const)(
		"writes a %s network (every activation) that onnxruntime runs as TF.js does, within 1e-5",
		async task => {
			const net = network(task);
			const name = task === "classification" ? "probabilities" : "prediction";
			const onnx = await runOnnx(exportOnnx(net), name);
			const tfjs = tfjsPredictions(net);
			expect(onnx).toHaveLength(tfjs.length);
			expect(maxRelativeDifference(onnx, tfjs)).toBeLessThan(1e-5);
			// Both agree with an independent float64 forward pass too.
			expect(maxRelativeDifference(onnx, forwardReference(net, X))).toBeLessThan(1e-5);
		},
	);

	it("declares the input and output the version schema names, batch dimension symbolic", async () => {
		const session = await ort.InferenceSession.create(
			exportOnnx(network("classification"), { metadata: { job: "j1" } }),
		);
		try {
			expect(session.inputMetadata).toEqual([
				{ name: "input", isTensor: true, type: "float32", shape: ["batch", 4] },
			]);
			expect(session.outputNames).toEqual(["probabilities"]);
		} finally {
			await session.release();
		}
	});
});

describe("saveLayersModel", () => {
	it("writes model.json and weights that the TF.js importer reads back into the same model", async () => {
		const net = network("classification");
		const model = layersModel(tf, net);
		let files;
		try {
			files = await saveLayersModel(tf, model);
		} finally {
			model.dispose();
		}
		const { artifacts, modelType } = tfjsArtifactsFromFiles(
			new Map([
				["model.json", Buffer.from(files.modelJson)],
				[files.weightsPath, Buffer.from(files.weights)],
			]),
		);
		expect(modelType).toBe("layers");
		const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
		try {
			expect(loaded.inputs[0].sourceLayer.name).toBe("input");
			expect(loaded.outputs[0].sourceLayer.name).toBe("probabilities");
			expect(Array.from(predictWith(tf, loaded, net, X, ROWS))).toEqual(
				Array.from(tfjsPredictions(net)),
			);
		} finally {
			loaded.dispose();
		}
	});
});
