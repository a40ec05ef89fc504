/**
 * The dense network a TF.js layers model holds, as the trainer's TrainedNetwork: a chain of
 * Dense layers (Dropout between them is an identity at inference and is passed over) on a flat
 * input, hidden activations the trainer knows, softmax (a classifier) or linear (a regressor)
 * at the end. Pruning works on this form; anything else is refused naming the layer.
 */
import type { LayersModel } from "@tensorflow/tfjs";
import { InvalidInputError } from "../errors";
import { ACTIVATIONS, type Activation } from "../training/job-spec";
import type { DenseLayerWeights, TrainedNetwork } from "../training/training-types";

/** Layers passed over: the input, and dropout (an identity at inference). */
const PASSED_OVER = new Set(["InputLayer", "Dropout"]);

export interface DenseSource {
	network: TrainedNetwork;
	/** Per network layer: the index of its Dense layer in `model.layers`. */
	layerIndices: number[];
}

function refuse(message: string, field = "sourceFile"): never {
	throw new InvalidInputError(message, { field });
}

/** The Dense layer's weights and activation, checked; `last`: the network's output layer. */
function denseWeights(layer: LayersModel["layers"][number], last: boolean): DenseLayerWeights {
	const config = layer.getConfig();
	const activation = String(config.activation ?? "linear");
	const allowed: readonly string[] = last ? ["softmax", "linear"] : ACTIVATIONS;
	if (!allowed.includes(activation))
		refuse(
			`Dense layer '${layer.name}' has activation '${activation}'; pruning takes ${last ? "softmax or linear on the output layer" : `hidden activations ${ACTIVATIONS.join(", ")}`}.`,
		);
	const weights = layer.getWeights();
	if (config.useBias === false || weights.length !== 2)
		refuse(`Dense layer '${layer.name}' has no bias; pruning takes Dense layers with bias.`);
	const [kernel, bias] = weights;
	const [inputs, units] = kernel.shape;
	return {
		inputs,
		units,
		kernel: Float32Array.from(kernel.dataSync() as Float32Array),
		bias: Float32Array.from(bias.dataSync() as Float32Array),
		activation: activation as Activation | "softmax",
	};
}

/** See the module comment; InvalidInputError naming the first layer that does not fit. */
export function denseNetworkOfLayersModel(model: LayersModel): DenseSource {
	const inputShape = model.inputs.length === 1 ? model.inputs[0].shape : null;
	if (model.outputs.length !== 1 || inputShape?.length !== 2 || inputShape[1] === null)
		refuse(
			"Pruning takes a model with one flat input [batch, features] and one output; this one has " +
				`${model.inputs.length} input(s) and ${model.outputs.length} output(s).`,
		);
	const dense: number[] = [];
	model.layers.forEach((layer, i) => {
		const className = layer.getClassName();
		if (className === "Dense") dense.push(i);
		else if (!PASSED_OVER.has(className))
			refuse(
				`Layer '${layer.name}' is a ${className}; pruning takes networks of Dense layers (with Dropout between them) only.`,
			);
	});
	if (dense.length === 0) refuse("The model has no Dense layer to prune.");
	const layers = dense.map((index, n) =>
		denseWeights(model.layers[index], n === dense.length - 1),
	);
	layers.forEach((layer, n) => {
		const expected = n === 0 ? (inputShape[1] as number) : layers[n - 1].units;
		if (layer.inputs !== expected)
			refuse(
				`Dense layer '${model.layers[dense[n]].name}' takes ${layer.inputs} inputs where ${expected} arrive: the layers do not form one chain.`,
			);
	});
	const task =
		layers[layers.length - 1].activation === "softmax" ? "classification" : "regression";
	return {
		network: { task, inputWidth: inputShape[1] as number, layers },
		layerIndices: dense,
	};
}
