/**
 * A trained dense network as an ONNX model (lib/onnx/onnx-writer.ts): per layer one Gemm
 * (x · kernel + bias) and its activation node, Softmax on a classifier's output. Input "input"
 * FP32 [batch, features], output "probabilities" [batch, classes] or "prediction" [batch, 1],
 * the names and shapes of the TF.js layers model, so one version schema fits both formats.
 *
 * Standardization is NOT folded into the first layer: it stays a step of the version's
 * pipeline (lib/training/preprocessing.ts), which the predictor runs before either format, so
 * both take the same pre-processed features and imputation and one-hot keep working.
 */
import { onnxAttribute, writeOnnxModel, type OnnxNode, type OnnxTensor } from "../onnx/onnx-writer";
import { outputName } from "./dense-network";
import type { DenseLayerWeights, TrainedNetwork } from "./training-types";

/** TF.js's selu constants (tfjs-core selu_util), so both runtimes compute the same function. */
const SELU_SCALE = 1.0507009873554805;
const SELU_SCALE_ALPHA = 1.7580993408473768;

function activationNode(
	layer: DenseLayerWeights,
	input: string,
	output: string,
	name: string,
): OnnxNode | null {
	const node = (opType: string, attributes?: OnnxNode["attributes"]): OnnxNode => ({
		opType,
		inputs: [input],
		outputs: [output],
		name,
		...(attributes ? { attributes } : {}),
	});
	switch (layer.activation) {
		case "linear":
			return null;
		case "relu":
			return node("Relu");
		case "tanh":
			return node("Tanh");
		case "sigmoid":
			return node("Sigmoid");
		case "softplus":
			return node("Softplus");
		case "elu":
			return node("Elu", { alpha: onnxAttribute.float(1) });
		case "selu":
			return node("Selu", {
				alpha: onnxAttribute.float(SELU_SCALE_ALPHA / SELU_SCALE),
				gamma: onnxAttribute.float(SELU_SCALE),
			});
		case "softmax":
			return node("Softmax", { axis: onnxAttribute.int(1) });
	}
}

export interface OnnxExportOptions {
	/** Written as the model's doc_string. */
	docString?: string;
	/** Written as metadata_props (e.g. the training job and dataset hash). */
	metadata?: Readonly<Record<string, string>>;
}

/** The ONNX file's bytes; see the module comment. */
export function exportOnnx(network: TrainedNetwork, options: OnnxExportOptions = {}): Uint8Array {
	const nodes: OnnxNode[] = [];
	const initializers: OnnxTensor[] = [];
	const last = network.layers.length - 1;
	const output = outputName(network);
	let current = "input";
	network.layers.forEach((layer, i) => {
		const n = i + 1;
		const kernel = `dense_${n}/kernel`;
		const bias = `dense_${n}/bias`;
		initializers.push(
			{ name: kernel, dims: [layer.inputs, layer.units], data: layer.kernel },
			{ name: bias, dims: [layer.units], data: layer.bias },
		);
		const linear = i === last && layer.activation === "linear" ? output : `dense_${n}/linear`;
		nodes.push({
			opType: "Gemm",
			inputs: [current, kernel, bias],
			outputs: [linear],
			name: `dense_${n}/gemm`,
		});
		const activated = i === last ? output : `dense_${n}/output`;
		const activation = activationNode(
			layer,
			linear,
			activated,
			`dense_${n}/${layer.activation}`,
		);
		if (activation) nodes.push(activation);
		current = activation ? activated : linear;
	});
	const outputs = network.layers[last].units;
	return writeOnnxModel({
		graph: {
			name: "modelfleet_dense",
			nodes,
			initializers,
			inputs: [{ name: "input", datatype: "FP32", shape: ["batch", network.inputWidth] }],
			outputs: [{ name: output, datatype: "FP32", shape: ["batch", outputs] }],
		},
		docString: options.docString,
		metadata: options.metadata,
	});
}
