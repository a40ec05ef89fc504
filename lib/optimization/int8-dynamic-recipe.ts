/**
 * INT8 dynamic quantization: MatMul and Gemm weights stored as int8 with one scale per output
 * channel; activations quantized at run time ("integer" form, onnxruntime's quantize_dynamic)
 * or weights dequantized in front of the float op ("qdq" form). No calibration data needed.
 */
import { InvalidInputError } from "../errors";
import { readOnnxModel } from "../onnx/onnx-reader";
import { writeOnnxModel, type OnnxNode } from "../onnx/onnx-writer";
import { applyRewrites, onnxOpset } from "./apply-rewrites";
import { GraphValues } from "./graph-values";
import { integerRewrite, qdqRewrite, type Int8Form, type Rewrite } from "./int8-rewrite";
import { quantizableMatMuls } from "./quantize-weights";
import type { OptimizationRecipe } from "./recipe";
import { oneOf, paramsObject } from "./recipe-params";

export interface Int8DynamicParams {
	/** Default "integer". */
	form: Int8Form;
	/** Op types to quantize; default both. */
	ops: ("MatMul" | "Gemm")[];
}

/** DynamicQuantizeLinear is opset 11; per-axis DequantizeLinear is opset 13. */
const MIN_OPSET: Record<Int8Form, number> = { integer: 11, qdq: 13 };

export const int8DynamicRecipe: OptimizationRecipe<Int8DynamicParams> = {
	kind: "int8-dynamic",
	description: "MatMul/Gemm weights → int8 per channel; activations quantized at run time",
	sourceFormats: ["onnx"],
	needsDataset: false,
	validateParams(raw) {
		const params = paramsObject(raw, "int8-dynamic", ["form", "ops"]);
		const ops = params.ops === undefined ? ["MatMul", "Gemm"] : params.ops;
		if (
			!Array.isArray(ops) ||
			ops.length === 0 ||
			!ops.every(op => op === "MatMul" || op === "Gemm")
		)
			throw new InvalidInputError("params.ops must list MatMul and/or Gemm", {
				field: "params.ops",
			});
		return {
			form: oneOf(params.form, "form", ["integer", "qdq"], "integer"),
			ops: ops as Int8DynamicParams["ops"],
		};
	},
	async run({ sourceFile, params, progress }) {
		const model = readOnnxModel(sourceFile);
		checkOpset(onnxOpset(model), params.form);
		const values = new GraphValues(model.graph);
		const targets = quantizableMatMuls(model, values, params.ops);
		if (targets.length === 0)
			throw new InvalidInputError(
				`the model has no ${params.ops.join(" or ")} with a constant 2-D weight to quantize`,
				{ field: "recipe" },
			);
		progress(0.3, `quantizing ${targets.length} weight(s)`);
		const rewrites = new Map<OnnxNode, Rewrite>();
		const activationDq = new Map<string, string>();
		for (const target of targets)
			rewrites.set(
				target.node,
				params.form === "integer"
					? integerRewrite(target, values)
					: qdqRewrite(target, values, null, activationDq),
			);
		const quantized = applyRewrites(model, rewrites);
		return {
			file: writeOnnxModel(quantized),
			format: "onnx",
			notes: [
				`${targets.length} ${params.ops.join("/")} weight(s) quantized to int8 per channel (${params.form} form)`,
			],
			details: { quantizedNodes: targets.map(t => t.node.name ?? t.node.outputs[0]) },
		};
	},
};

export function checkOpset(opset: number, form: Int8Form): void {
	if (opset < MIN_OPSET[form])
		throw new InvalidInputError(
			`the ${form} form needs ONNX opset ${MIN_OPSET[form]} or later; the model imports opset ${opset}`,
			{ field: "params.form" },
		);
}
