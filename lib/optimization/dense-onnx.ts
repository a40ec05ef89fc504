/**
 * The dense network an ONNX model holds when it is the trainer's export (lib/training/
 * onnx-export.ts) or shaped like it: from the one input to the one output, a chain of Gemm
 * (x · W + b, W an FP32 initializer [inputs, units]) each followed by at most one activation
 * the trainer writes. Read into a TrainedNetwork for pruning, and written back with new weights
 * into the same model (names, metadata and opset kept), so the pruned file fits the version's
 * schema as the source did. Any other node is refused, naming it.
 */
import { InvalidInputError } from "../errors";
import type { OnnxNode, OnnxTensor } from "../onnx/onnx-writer";
import { writeOnnxModel } from "../onnx/onnx-writer";
import type { ReadOnnxModel } from "../onnx/onnx-reader";
import type { Activation } from "../training/job-spec";
import type { DenseLayerWeights, TrainedNetwork } from "../training/training-types";

/** The trainer's activation nodes (their attributes as it writes them) → activation. */
const ACTIVATION_OF_OP: Readonly<Record<string, Activation | "softmax">> = {
	Relu: "relu",
	Tanh: "tanh",
	Sigmoid: "sigmoid",
	Softplus: "softplus",
	Elu: "elu",
	Selu: "selu",
	Softmax: "softmax",
};

export interface DenseOnnx {
	network: TrainedNetwork;
	/** Per layer: the names of its kernel and bias initializers. */
	initializers: { kernel: string; bias: string }[];
}

function refuse(message: string): never {
	throw new InvalidInputError(message, { field: "sourceFile" });
}

function nodeLabel(node: OnnxNode): string {
	return `${node.opType} node '${node.name ?? "(unnamed)"}'`;
}

/** Gemm with default alpha, beta and no transposes: y = x · W + b. */
function checkPlainGemm(node: OnnxNode): void {
	for (const [name, attribute] of Object.entries(node.attributes ?? {})) {
		const value = Number(attribute.value);
		const plain = name === "alpha" || name === "beta" ? value === 1 : value === 0;
		if (!plain)
			refuse(
				`${nodeLabel(node)} has ${name} ${value}; pruning reads the plain x · W + b form.`,
			);
	}
}

function floatInitializer(initializers: Map<string, OnnxTensor>, name: string | undefined) {
	const tensor = name === undefined ? undefined : initializers.get(name);
	if (!(tensor?.data instanceof Float32Array))
		refuse(
			`'${name ?? "(none)"}' is not an FP32 initializer; pruning takes constant FP32 weights.`,
		);
	return tensor as OnnxTensor & { data: Float32Array };
}

/** The node that reads `tensor`; a refusal unless there is exactly one. */
function consumerOf(nodes: readonly OnnxNode[], tensor: string): OnnxNode {
	const consumers = nodes.filter(node => node.inputs.includes(tensor));
	if (consumers.length !== 1)
		refuse(
			`'${tensor}' feeds ${consumers.length} nodes; pruning takes one chain of Gemm layers.`,
		);
	return consumers[0];
}

/** See the module comment; InvalidInputError naming the first node that does not fit. */
export function denseNetworkOfOnnx(model: ReadOnnxModel): DenseOnnx {
	const { graph } = model;
	const initializers = new Map(graph.initializers.map(t => [t.name, t]));
	const inputs = graph.inputs.filter(input => !initializers.has(input.name));
	if (inputs.length !== 1 || graph.outputs.length !== 1 || inputs[0].shape?.length !== 2)
		refuse("Pruning takes an ONNX model with one input [batch, features] and one output.");
	const output = graph.outputs[0].name;
	const layers: DenseLayerWeights[] = [];
	const names: DenseOnnx["initializers"] = [];
	let current = inputs[0].name;
	while (current !== output) {
		const gemm = consumerOf(graph.nodes, current);
		if (gemm.opType !== "Gemm" || gemm.inputs[0] !== current || gemm.inputs.length !== 3)
			refuse(
				`${nodeLabel(gemm)} is not a Gemm with a bias; pruning takes chains of Gemm layers.`,
			);
		checkPlainGemm(gemm);
		const kernel = floatInitializer(initializers, gemm.inputs[1]);
		const bias = floatInitializer(initializers, gemm.inputs[2]);
		const [fanIn, units] = kernel.dims;
		if (kernel.dims.length !== 2 || bias.data.length !== units)
			refuse(`${nodeLabel(gemm)}: its weights are not [inputs, units] and [units].`);
		current = gemm.outputs[0];
		let activation: DenseLayerWeights["activation"] = "linear";
		if (current !== output) {
			const next = consumerOf(graph.nodes, current);
			const alpha = next.attributes?.alpha?.value;
			if (next.opType === "Elu" && alpha !== undefined && alpha !== 1)
				refuse(
					`${nodeLabel(next)} has alpha ${String(alpha)}; the trainer's elu has alpha 1.`,
				);
			if (Object.hasOwn(ACTIVATION_OF_OP, next.opType)) {
				activation = ACTIVATION_OF_OP[next.opType];
				current = next.outputs[0];
			}
		}
		layers.push({ inputs: fanIn, units, kernel: kernel.data, bias: bias.data, activation });
		names.push({ kernel: kernel.name, bias: bias.name });
	}
	if (layers.length === 0) refuse("The ONNX model has no Gemm layer to prune.");
	if (layers.slice(0, -1).some(layer => layer.activation === "softmax"))
		refuse("A hidden layer ends in Softmax; pruning takes softmax on the output layer only.");
	const task =
		layers[layers.length - 1].activation === "softmax" ? "classification" : "regression";
	return { network: { task, inputWidth: layers[0].inputs, layers }, initializers: names };
}

/** The model's bytes with each layer's kernel and bias replaced by the network's. */
export function withDenseWeights(
	model: ReadOnnxModel,
	dense: DenseOnnx,
	network: TrainedNetwork,
): Uint8Array {
	const replaced = new Map<string, Float32Array>();
	dense.initializers.forEach(({ kernel, bias }, i) => {
		replaced.set(kernel, network.layers[i].kernel);
		replaced.set(bias, network.layers[i].bias);
	});
	const initializers = model.graph.initializers.map(tensor => {
		const data = replaced.get(tensor.name);
		return data ? { ...tensor, data } : tensor;
	});
	return writeOnnxModel({ ...model, graph: { ...model.graph, initializers } });
}
