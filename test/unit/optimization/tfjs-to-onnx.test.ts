import type { LayersModel, Tensor } from "@tensorflow/tfjs";
import * as ort from "onnxruntime-node";
import { SeededRandom } from "../../../lib/datasets/seeded-random";
import { InvalidInputError } from "../../../lib/errors";
import { SUPPORTED_ACTIVATIONS } from "../../../lib/optimization/tfjs-layer-ops";
import { layersModelToOnnx } from "../../../lib/optimization/tfjs-to-onnx";
import { loadTfjs, type TfModule } from "../../../lib/runtimes/tfjs/load-tfjs";

let tf: TfModule;

beforeAll(async () => {
	tf = await loadTfjs();
});

/** Random values in [-1, 1) from a seed. */
function values(length: number, seed: number): Float32Array {
	const random = new SeededRandom(seed);
	return Float32Array.from({ length }, () => random.next() * 2 - 1);
}

/** Every weight of the model set to seeded values (moving variances positive). */
function seedWeights(model: LayersModel, seed: number): void {
	model.layers.forEach((layer, l) => {
		const weights = layer.getWeights().map((w, i) => {
			const data = values(w.size, seed * 1000 + l * 10 + i);
			const positive = /variance/.test(layer.weights[i].name);
			return tf.tensor(positive ? data.map(v => v + 1.5) : data, w.shape);
		});
		if (weights.length > 0) layer.setWeights(weights);
		tf.dispose(weights);
	});
}

/** Largest |a − b| between TF.js's and onnxruntime's outputs for `rows` random inputs. */
async function disagreement(model: LayersModel, rows: number, spread = 1): Promise<number> {
	const shape = model.inputs[0].shape.slice(1) as number[];
	const x = values(rows * shape.reduce((a, b) => a * b, 1), 99).map(v => v * spread);
	const expected = tf.tidy(() =>
		(model.predict(tf.tensor(x, [rows, ...shape])) as Tensor).dataSync(),
	) as Float32Array;
	const session = await ort.InferenceSession.create(layersModelToOnnx(model));
	try {
		const input = model.inputs[0].sourceLayer.name;
		const output = model.outputs[0].sourceLayer.name;
		expect(session.inputNames).toEqual([input]);
		expect(session.outputNames).toEqual([output]);
		const result = await session.run({
			[input]: new ort.Tensor("float32", x, [rows, ...shape]),
		});
		const actual = result[output].data as Float32Array;
		expect(actual.length).toBe(expected.length);
		let worst = 0;
		for (let i = 0; i < actual.length; i++)
			worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
		return worst;
	} finally {
		await session.release();
	}
}

describe("layersModelToOnnx", () => {
	it.each(SUPPORTED_ACTIVATIONS)(
		"converts a Dense layer with activation %s, agreeing within 1e-5",
		async activation => {
			const model = tf.sequential();
			// logSoftmax is registered in TF.js but missing from its ActivationIdentifier type.
			const identifier = activation as Parameters<typeof tf.layers.dense>[0]["activation"];
			model.add(
				tf.layers.dense({ inputShape: [6], units: 5, activation: identifier, name: "out" }),
			);
			seedWeights(model, 4);
			// Inputs in [-3, 3): past relu6's and hardSigmoid's bends too.
			expect(await disagreement(model, 32, 3)).toBeLessThanOrEqual(1e-5);
			model.dispose();
		},
	);

	it("converts Dense layers with every activation, Dropout, BatchNormalization and activation layers, agreeing within 1e-5", async () => {
		const activations = [
			"relu",
			"tanh",
			"sigmoid",
			"elu",
			"selu",
			"softplus",
			"linear",
		] as const;
		const model = tf.sequential({ name: "mlp" });
		model.add(tf.layers.dense({ inputShape: [6], units: 12, activation: "relu6", name: "in" }));
		for (const [i, activation] of activations.entries())
			model.add(tf.layers.dense({ units: 8, activation, name: `dense_${activation}_${i}` }));
		model.add(tf.layers.dropout({ rate: 0.5 }));
		model.add(tf.layers.batchNormalization({ epsilon: 0.01 }));
		model.add(tf.layers.leakyReLU({ alpha: 0.2 }));
		model.add(tf.layers.dense({ units: 8, useBias: false, activation: "hardSigmoid" }));
		model.add(tf.layers.activation({ activation: "softsign" }));
		model.add(tf.layers.elu({}));
		model.add(tf.layers.reLU({ maxValue: 0.5 }));
		model.add(tf.layers.dense({ units: 4, activation: "softmax", name: "probabilities" }));
		seedWeights(model, 1);
		const worst = await disagreement(model, 64);
		expect(worst).toBeLessThanOrEqual(1e-5);
		process.stdout.write(`tfjs → onnx, dense stack: max |Δ| ${worst.toExponential(2)}\n`);
		model.dispose();
	});

	it("converts a small CNN (Conv2D same/valid, pooling, Flatten, Reshape) in NHWC order, agreeing within 1e-5", async () => {
		const model = tf.sequential();
		model.add(tf.layers.reshape({ inputShape: [64], targetShape: [8, 8, 1] }));
		model.add(
			tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: "same", activation: "relu" }),
		);
		model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
		model.add(
			tf.layers.conv2d({ filters: 3, kernelSize: [2, 3], strides: 1, padding: "valid" }),
		);
		model.add(tf.layers.averagePooling2d({ poolSize: 2, strides: 1, padding: "same" }));
		model.add(tf.layers.batchNormalization());
		model.add(tf.layers.flatten());
		model.add(tf.layers.dense({ units: 5, activation: "softmax" }));
		seedWeights(model, 2);
		const worst = await disagreement(model, 16);
		expect(worst).toBeLessThanOrEqual(1e-5);
		process.stdout.write(`tfjs → onnx, CNN: max |Δ| ${worst.toExponential(2)}\n`);

		const pooled = tf.sequential();
		pooled.add(
			tf.layers.conv2d({
				inputShape: [6, 6, 2],
				filters: 3,
				kernelSize: 3,
				strides: 2,
				padding: "same",
			}),
		);
		pooled.add(tf.layers.maxPooling2d({ poolSize: 2, strides: 2, padding: "same" }));
		pooled.add(tf.layers.globalAveragePooling2d({}));
		pooled.add(tf.layers.dense({ units: 2 }));
		seedWeights(pooled, 3);
		expect(await disagreement(pooled, 8)).toBeLessThanOrEqual(1e-5);
		model.dispose();
		pooled.dispose();
	});

	it("applies a Dense layer on a rank-3 input to its last axis (MatMul), agreeing within 1e-5", async () => {
		const model = tf.sequential();
		model.add(tf.layers.reshape({ inputShape: [24], targetShape: [4, 6] }));
		model.add(tf.layers.dense({ units: 3, activation: "tanh" }));
		model.add(tf.layers.dense({ units: 2, useBias: false }));
		model.add(tf.layers.globalMaxPooling1d({}));
		seedWeights(model, 5);
		expect(await disagreement(model, 8)).toBeLessThanOrEqual(1e-5);
		model.dispose();
	});

	it("refuses a layer it cannot express, naming the layer and its class and listing the supported ones", () => {
		const model = tf.sequential();
		model.add(tf.layers.lstm({ inputShape: [5, 3], units: 4, name: "memory" }));
		model.add(tf.layers.dense({ units: 2 }));
		let error: unknown;
		try {
			layersModelToOnnx(model);
		} catch (e) {
			error = e;
		}
		expect(error).toBeInstanceOf(InvalidInputError);
		const { message, data } = error as InvalidInputError & { data: Record<string, unknown> };
		expect(message).toMatch(/Layer 'memory' is a LSTM, which cannot be converted to ONNX/);
		expect(message).toMatch(/Supported layers: Dense, Dropout, .*Conv2D/);
		expect(data).toMatchObject({ layer: "memory", className: "LSTM" });
		model.dispose();

		const conv1d = tf.sequential();
		conv1d.add(tf.layers.conv1d({ inputShape: [8, 2], filters: 2, kernelSize: 3, name: "c1" }));
		expect(() => layersModelToOnnx(conv1d)).toThrow(/Layer 'c1' is a Conv1D/);
		conv1d.dispose();

		const gelu = tf.sequential();
		gelu.add(tf.layers.dense({ inputShape: [3], units: 2, activation: "gelu", name: "g" }));
		expect(() => layersModelToOnnx(gelu)).toThrow(/Layer 'g' \(Dense\).*activation 'gelu'/);
		gelu.dispose();
	});

	it("refuses a model that is not one chain of layers", () => {
		const input = tf.input({ shape: [4], name: "x" });
		const a = tf.layers.dense({ units: 3, name: "a" }).apply(input);
		const b = tf.layers.dense({ units: 3, name: "b" }).apply(input);
		const sum = tf.layers.add({ name: "sum" }).apply([a, b] as never);
		const model = tf.model({ inputs: input, outputs: sum as never });
		expect(() => layersModelToOnnx(model)).toThrow(/Layer 'sum' is a Add/);
		model.dispose();
	});
});
