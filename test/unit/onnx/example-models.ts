/**
 * Small ONNX models written with lib/onnx, with what they must compute worked out by hand.
 * Shared by the writer's and the importer's tests and by scripts/fixtures/check-onnx-writer.sh.
 */
import {
	onnxAttribute,
	writeOnnxModel,
	type OnnxModelSpec,
	type OnnxTensor,
} from "../../../lib/onnx/onnx-writer";

function fp32(name: string, dims: number[], values: number[]): OnnxTensor {
	return { name, dims, data: Float32Array.from(values) };
}

/**
 * x[batch, 4] → Gemm → Relu → Gemm (alpha 0.5, transB) → logits[batch, 2] → Softmax → probabilities.
 * Worked out by hand for the rows in MLP_EXAMPLE.
 */
export const MLP_SPEC: OnnxModelSpec = {
	producer: "modelfleet-tests",
	producerVersion: "1",
	graph: {
		name: "mlp",
		nodes: [
			{ opType: "Gemm", inputs: ["x", "W1", "b1"], outputs: ["h1"] },
			{ opType: "Relu", inputs: ["h1"], outputs: ["h"] },
			{
				opType: "Gemm",
				inputs: ["h", "W2t", "b2"],
				outputs: ["logits"],
				attributes: {
					alpha: onnxAttribute.float(0.5),
					beta: onnxAttribute.float(1),
					transB: onnxAttribute.int(1),
				},
			},
			{
				opType: "Softmax",
				inputs: ["logits"],
				outputs: ["probabilities"],
				attributes: { axis: onnxAttribute.int(-1) },
			},
		],
		initializers: [
			fp32("W1", [4, 3], [1, 0, -1, 0, 1, 0, 1, 0, 0, 0, -1, 1]),
			fp32("b1", [3], [0.5, -1, 0]),
			fp32("W2t", [2, 3], [1, 1, -1, 0, 2, 2]),
			fp32("b2", [2], [0, 1]),
		],
		inputs: [{ name: "x", datatype: "FP32", shape: ["batch", 4] }],
		outputs: [
			{ name: "logits", datatype: "FP32", shape: ["batch", 2] },
			{ name: "probabilities", datatype: "FP32", shape: ["batch", 2] },
		],
	},
};

/**
 * Row 1: h = relu([4, -2, 3] + b1) = [4.5, 0, 3]; logits = 0.5·[1.5, 6] + b2 = [0.75, 4].
 * Row 2: h = relu([0, 0, 1] + b1) = [0.5, 0, 1]; logits = 0.5·[-0.5, 2] + b2 = [-0.25, 2].
 */
export const MLP_EXAMPLE = {
	x: [1, 2, 3, 4, -1, 0, 1, 0],
	logits: [0.75, 4, -0.25, 2],
};

/** One node per attribute kind: float, int, ints, floats, string and tensor; INT64 initializer. */
export const ATTRIBUTES_SPEC: OnnxModelSpec = {
	opset: 17,
	graph: {
		nodes: [
			{
				opType: "LeakyRelu",
				inputs: ["x"],
				outputs: ["leaky"],
				attributes: { alpha: onnxAttribute.float(0.25) },
			},
			{
				opType: "Transpose",
				inputs: ["x"],
				outputs: ["transposed"],
				attributes: { perm: onnxAttribute.ints([1, 0]) },
			},
			{
				opType: "Pad",
				inputs: ["x", "pads"],
				outputs: ["padded"],
				attributes: { mode: onnxAttribute.string("edge") },
			},
			{
				opType: "Constant",
				inputs: [],
				outputs: ["floats"],
				attributes: { value_floats: onnxAttribute.floats([0.5, -1.5]) },
			},
			{
				opType: "Constant",
				inputs: [],
				outputs: ["ints"],
				attributes: { value_ints: onnxAttribute.ints([7, -3]) },
			},
			{
				opType: "Constant",
				inputs: [],
				outputs: ["tensor"],
				attributes: {
					value: onnxAttribute.tensor({
						name: "t",
						dims: [2],
						data: BigInt64Array.from([5n, 6n]),
					}),
				},
			},
		],
		initializers: [{ name: "pads", dims: [4], data: BigInt64Array.from([0n, 1n, 0n, 1n]) }],
		inputs: [{ name: "x", datatype: "FP32", shape: [2, 2] }],
		outputs: [
			{ name: "leaky", datatype: "FP32", shape: [2, 2] },
			{ name: "transposed", datatype: "FP32", shape: [2, 2] },
			{ name: "padded", datatype: "FP32", shape: [2, 4] },
			{ name: "floats", datatype: "FP32", shape: [2] },
			{ name: "ints", datatype: "INT64", shape: [2] },
			{ name: "tensor", datatype: "INT64", shape: [2] },
		],
	},
};

export function writeMlpModel(): Uint8Array {
	return writeOnnxModel(MLP_SPEC);
}

export function writeAttributesModel(): Uint8Array {
	return writeOnnxModel(ATTRIBUTES_SPEC);
}
