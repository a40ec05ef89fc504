/**
 * A TF.js layers model as an ONNX model: the trainer's exporter (lib/training/onnx-export.ts)
 * generalised from its own dense networks to the TF.js layer classes that tfjs-layer-ops.ts
 * expresses (Dense, Dropout and kin, Flatten, Reshape, BatchNormalization, the activation
 * layers, Conv2D and 2-D pooling, global pooling). The model must be one chain of layers from
 * one FP32 input to one output; any other layer is refused with an InvalidInputError that names
 * it and lists what is supported, before anything is written.
 *
 * The ONNX input and output are named as the TF.js importer names the model's (after their
 * layers, lib/runtimes/tfjs/tfjs-schema.ts), with the same shapes, so the version's schema and
 * pipeline fit the converted file as they are.
 *
 *     const onnx = layersModelToOnnx(model, { docString: "converted from iris@1.0.0" });
 */
import type { LayersModel } from "@tensorflow/tfjs";
import { InvalidInputError } from "../errors";
import { writeOnnxModel, type OnnxNode, type OnnxTensor } from "../onnx/onnx-writer";
import { LAYER_CONVERTERS, type TfLayer } from "./tfjs-layer-ops";

/** Layer classes that only carry the input in. */
const INPUT_LAYERS = new Set(["InputLayer"]);

export const SUPPORTED_LAYERS: readonly string[] = Object.keys(LAYER_CONVERTERS);

export interface TfjsToOnnxOptions {
	docString?: string;
	metadata?: Readonly<Record<string, string>>;
}

function refuse(message: string, data: Record<string, unknown> = {}): never {
	throw new InvalidInputError(message, { field: "sourceFile", ...data });
}

/** The layers after the input, in order, checked: each supported and fed by the one before. */
function chainOf(model: LayersModel): TfLayer[] {
	if (model.inputs.length !== 1 || model.outputs.length !== 1)
		refuse(
			`Conversion takes a model with one input and one output; this one has ${model.inputs.length} and ${model.outputs.length}.`,
		);
	const layers = model.layers.filter(layer => !INPUT_LAYERS.has(layer.getClassName()));
	for (const layer of layers) {
		const className = layer.getClassName();
		if (!Object.hasOwn(LAYER_CONVERTERS, className))
			refuse(
				`Layer '${layer.name}' is a ${className}, which cannot be converted to ONNX. Supported layers: ${SUPPORTED_LAYERS.join(", ")}.`,
				{ layer: layer.name, className, supported: SUPPORTED_LAYERS },
			);
	}
	let previous = model.inputs[0].sourceLayer;
	for (const layer of layers) {
		const input = layer.inboundNodes.length === 1 ? layer.input : null;
		if (input === null || Array.isArray(input) || input.sourceLayer !== previous)
			refuse(
				`Layer '${layer.name}' is not fed by the layer before it ('${previous.name}'): conversion takes one chain of layers.`,
				{ layer: layer.name },
			);
		previous = layer;
	}
	if (previous !== model.outputs[0].sourceLayer)
		refuse("The model's output is not its last layer: conversion takes one chain of layers.");
	return layers;
}

/** Input dims without the batch, as TF.js infers them (chainOf checked there is one input). */
function inputDims(layer: TfLayer): (number | null)[] {
	const input = layer.input as Exclude<TfLayer["input"], unknown[]>;
	return input.shape.slice(1);
}

/** The ONNX file's bytes; see the module comment. */
export function layersModelToOnnx(model: LayersModel, options: TfjsToOnnxOptions = {}): Uint8Array {
	const layers = chainOf(model);
	const input = model.inputs[0];
	const output = model.outputs[0];
	if (input.dtype !== "float32")
		refuse(`The model's input is ${input.dtype}; conversion takes an FP32 input.`);
	const inputName = input.sourceLayer.name;
	const outputName = output.sourceLayer.name;
	const nodes: OnnxNode[] = [];
	const initializers: OnnxTensor[] = [];
	const emit = {
		node: (node: OnnxNode) => nodes.push(node),
		initializer: (tensor: OnnxTensor) => initializers.push(tensor),
	};
	let current = inputName;
	layers.forEach((layer, i) => {
		const out = i === layers.length - 1 ? outputName : `${layer.name}/output`;
		LAYER_CONVERTERS[layer.getClassName()]({
			layer,
			config: layer.getConfig() as Record<string, unknown>,
			inputShape: inputDims(layer),
			input: current,
			output: out,
			emit,
		});
		current = out;
	});
	if (layers.length === 0)
		nodes.push({ opType: "Identity", inputs: [inputName], outputs: [outputName] });
	const dims = (shape: (number | null)[]) => ["batch", ...shape.slice(1).map(d => d ?? -1)];
	return writeOnnxModel({
		graph: {
			name: model.name,
			nodes,
			initializers,
			inputs: [{ name: inputName, datatype: "FP32", shape: dims(input.shape) }],
			outputs: [{ name: outputName, datatype: "FP32", shape: dims(output.shape) }],
		},
		docString: options.docString,
		metadata: options.metadata,
	});
}
