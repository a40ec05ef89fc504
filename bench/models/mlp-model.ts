/**
 * The digits-size MLP: x[batch, 64] → Gemm(64→128) → Relu → Gemm(128→10) → Softmax, with
 * weights from a seeded PRNG.
 */
import { onnxAttribute, writeOnnxModel } from "../../lib/onnx/onnx-writer";
import type { ModelSchema } from "../../lib/model-spec/model-schema";
import { seededRandom, uniformFloats } from "../support/prng";

export const MLP_FEATURES = 64;
export const MLP_HIDDEN = 128;
export const MLP_CLASSES = 10;

export const MLP_SCHEMA: ModelSchema = {
	inputs: [{ name: "x", datatype: "FP32", shape: [-1, MLP_FEATURES] }],
	outputs: [{ name: "probabilities", datatype: "FP32", shape: [-1, MLP_CLASSES] }],
};

export function writeBenchMlp(seed = 42): Uint8Array {
	const random = seededRandom(seed);
	const bound1 = Math.sqrt(6 / MLP_FEATURES);
	const bound2 = Math.sqrt(6 / MLP_HIDDEN);
	return writeOnnxModel({
		producer: "modelfleet-bench",
		graph: {
			name: "digits_mlp",
			nodes: [
				{ opType: "Gemm", inputs: ["x", "W1", "b1"], outputs: ["h1"] },
				{ opType: "Relu", inputs: ["h1"], outputs: ["h"] },
				{ opType: "Gemm", inputs: ["h", "W2", "b2"], outputs: ["logits"] },
				{
					opType: "Softmax",
					inputs: ["logits"],
					outputs: ["probabilities"],
					attributes: { axis: onnxAttribute.int(-1) },
				},
			],
			initializers: [
				{
					name: "W1",
					dims: [MLP_FEATURES, MLP_HIDDEN],
					data: uniformFloats(random, MLP_FEATURES * MLP_HIDDEN, -bound1, bound1),
				},
				{
					name: "b1",
					dims: [MLP_HIDDEN],
					data: uniformFloats(random, MLP_HIDDEN, -0.1, 0.1),
				},
				{
					name: "W2",
					dims: [MLP_HIDDEN, MLP_CLASSES],
					data: uniformFloats(random, MLP_HIDDEN * MLP_CLASSES, -bound2, bound2),
				},
				{
					name: "b2",
					dims: [MLP_CLASSES],
					data: uniformFloats(random, MLP_CLASSES, -0.1, 0.1),
				},
			],
			inputs: [{ name: "x", datatype: "FP32", shape: ["batch", MLP_FEATURES] }],
			outputs: [{ name: "probabilities", datatype: "FP32", shape: ["batch", MLP_CLASSES] }],
		},
	});
}
