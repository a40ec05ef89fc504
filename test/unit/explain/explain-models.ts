/**
 * ONNX models for the explanation tests, written with lib/onnx and seeded weights: a linear
 * model y = x·w + b, and a small nonlinear MLP (Gemm → Tanh → Gemm → Softmax).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { SeededRandom } from "../../../lib/datasets/seeded-random";
import { onnxAttribute, writeOnnxModel } from "../../../lib/onnx/onnx-writer";
import { OnnxRuntime } from "../../../lib/runtimes/onnx/onnx-runtime";
import type { LoadedModel } from "../../../lib/runtimes/model-runtime";

export function uniform(
	random: SeededRandom,
	count: number,
	low: number,
	high: number,
): Float32Array {
	return Float32Array.from({ length: count }, () => low + (high - low) * random.next());
}

/** x[batch, m] → x·w + b → y[batch, 1]. */
export function writeLinearModel(w: Float32Array, b: number): Uint8Array {
	const m = w.length;
	return writeOnnxModel({
		producer: "modelfleet-tests",
		graph: {
			name: "linear",
			nodes: [{ opType: "Gemm", inputs: ["x", "w", "b"], outputs: ["y"] }],
			initializers: [
				{ name: "w", dims: [m, 1], data: w },
				{ name: "b", dims: [1], data: Float32Array.of(b) },
			],
			inputs: [{ name: "x", datatype: "FP32", shape: ["batch", m] }],
			outputs: [{ name: "y", datatype: "FP32", shape: ["batch", 1] }],
		},
	});
}

/** x[batch, m] → Gemm(m→hidden) → Tanh → Gemm(hidden→classes) → Softmax → probabilities. */
export function writeTanhMlp(m: number, hidden: number, classes: number, seed: number): Uint8Array {
	const random = new SeededRandom(seed);
	return writeOnnxModel({
		producer: "modelfleet-tests",
		graph: {
			name: "tanh_mlp",
			nodes: [
				{ opType: "Gemm", inputs: ["x", "W1", "b1"], outputs: ["h1"] },
				{ opType: "Tanh", inputs: ["h1"], outputs: ["h"] },
				{ opType: "Gemm", inputs: ["h", "W2", "b2"], outputs: ["logits"] },
				{
					opType: "Softmax",
					inputs: ["logits"],
					outputs: ["probabilities"],
					attributes: { axis: onnxAttribute.int(-1) },
				},
			],
			initializers: [
				{ name: "W1", dims: [m, hidden], data: uniform(random, m * hidden, -1.5, 1.5) },
				{ name: "b1", dims: [hidden], data: uniform(random, hidden, -0.5, 0.5) },
				{
					name: "W2",
					dims: [hidden, classes],
					data: uniform(random, hidden * classes, -2, 2),
				},
				{ name: "b2", dims: [classes], data: uniform(random, classes, -0.5, 0.5) },
			],
			inputs: [{ name: "x", datatype: "FP32", shape: ["batch", m] }],
			outputs: [{ name: "probabilities", datatype: "FP32", shape: ["batch", classes] }],
		},
	});
}

/** Loads model bytes with the ONNX runtime (from a temporary file, removed at once). */
export async function loadOnnx(bytes: Uint8Array): Promise<LoadedModel> {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), "explain-"));
	const file = path.join(dir, "model.onnx");
	fs.writeFileSync(file, bytes);
	try {
		return await new OnnxRuntime().load(file);
	} finally {
		fs.rmSync(dir, { recursive: true, force: true });
	}
}

/** Runs [rows × m] float rows through a one-input model: its first output's values. */
export async function evaluate(
	model: LoadedModel,
	x: Float32Array,
	m: number,
): Promise<Float32Array> {
	const [out] = await model.run([
		{ name: model.schema.inputs[0].name, datatype: "FP32", shape: [x.length / m, m], data: x },
	]);
	return out.data as Float32Array;
}
