/**
 * The dense network's shape and its seeded initial weights, computed in plain TypeScript so a
 * seed gives the same network on every backend: kernels uniform in ±limit, where the limit
 * suits the activation (He for relu/elu, LeCun for selu, Glorot otherwise); biases zero.
 */
import { SeededRandom } from "../datasets/seeded-random";
import type { Activation, DenseLayerSpec } from "./job-spec";
import type { DenseLayerWeights, TrainedNetwork } from "./training-types";

/** The layers' sizes: hidden layers from the spec, then the output layer (linear logits/values). */
export function layerShapes(
	inputWidth: number,
	hidden: readonly DenseLayerSpec[],
	outputs: number,
): { inputs: number; units: number; activation: Activation }[] {
	const shapes: { inputs: number; units: number; activation: Activation }[] = [];
	let inputs = inputWidth;
	for (const layer of hidden) {
		shapes.push({ inputs, units: layer.units, activation: layer.activation });
		inputs = layer.units;
	}
	shapes.push({ inputs, units: outputs, activation: "linear" });
	return shapes;
}

function initLimit(activation: Activation, fanIn: number, fanOut: number): number {
	switch (activation) {
		case "relu":
		case "elu":
			return Math.sqrt(6 / fanIn);
		case "selu":
			return Math.sqrt(3 / fanIn);
		default:
			return Math.sqrt(6 / (fanIn + fanOut));
	}
}

/** Initial weights for every layer (the output layer last), from `random`. */
export function initialWeights(
	inputWidth: number,
	hidden: readonly DenseLayerSpec[],
	outputs: number,
	random: SeededRandom,
): DenseLayerWeights[] {
	return layerShapes(inputWidth, hidden, outputs).map(({ inputs, units, activation }) => {
		const limit = initLimit(activation, inputs, units);
		const kernel = new Float32Array(inputs * units);
		for (let i = 0; i < kernel.length; i++) kernel[i] = (random.next() * 2 - 1) * limit;
		return { inputs, units, kernel, bias: new Float32Array(units), activation };
	});
}

/**
 * Folds a regression target's standardization into the output layer, so the network predicts
 * in the label's own units: y = (x·W + b)·std + mean = x·(W·std) + (b·std + mean).
 */
export function unscaleOutput(
	layer: DenseLayerWeights,
	mean: number,
	std: number,
): DenseLayerWeights {
	return {
		...layer,
		kernel: layer.kernel.map(w => w * std),
		bias: layer.bias.map(b => b * std + mean),
	};
}

/** The name of the network's output: "probabilities" (classification) or "prediction". */
export function outputName(network: Pick<TrainedNetwork, "task">): string {
	return network.task === "classification" ? "probabilities" : "prediction";
}
