/**
 * INT8 dynamic quantization: MatMul and Gemm weights stored as int8 with one scale per output
 * channel; activations quantized at run time ("integer" form, onnxruntime's quantize_dynamic)
 * or weights dequantized in front of the float op ("qdq" form). No calibration data needed.
 */
import { InvalidInputError } from "../errors";
import { readOnnxModel, type ReadOnnxModel } from "../onnx/onnx-reader";
import { writeOnnxModel, type OnnxNode } from "../onnx/onnx-writer";
import { applyRewrites, onnxOpset } from "./apply-rewrites";
import { GraphValues } from "./graph-values";
import {
	convWeightRewrite,
	integerRewrite,
	qdqRewrite,
	type Int8Form,
	type Rewrite,
} from "./int8-rewrite";
import { quantizableMatMuls } from "./quantize-weights";
import type { OptimizationRecipe } from "./recipe";
import { oneOf, paramsObject } from "./recipe-params";

export interface Int8DynamicParams {
	/** Default "integer". */
	form: Int8Form;
	/** Op types whose weights are quantized; default all three (Conv: weight-only, per channel). */
	ops: ("MatMul" | "Gemm" | "Conv")[];
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
		const ops = params.ops === undefined ? ["MatMul", "Gemm", "Conv"] : params.ops;
		if (
			!Array.isArray(ops) ||
			ops.length === 0 ||
			!ops.every(op => op === "MatMul" || op === "Gemm" || op === "Conv")
		)
			throw new InvalidInputError("params.ops must list some of MatMul, Gemm and Conv", {
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
		const convs = params.ops.includes("Conv") ? convRewrites(model, values) : new Map();
		if (targets.length === 0 && convs.size === 0)
			throw new InvalidInputError(
				`the model has no ${params.ops.join(" or ")} with a constant weight to quantize`,
				{ field: "recipe" },
			);
		progress(0.3, `quantizing ${targets.length} weight(s)`);
		const rewrites = new Map<OnnxNode, Rewrite>(convs);
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
				`${targets.length} MatMul/Gemm weight(s) quantized to int8 per channel (${params.form} form)`,
				...(convs.size > 0
					? [`${convs.size} Conv weight(s) int8 per channel (weight-only)`]
					: []),
			],
			details: {
				quantizedNodes: [...targets.map(t => t.node), ...convs.keys()].map(
					n => n.name ?? n.outputs[0],
				),
			},
		};
	},
};

/** The weight-only rewrite of every Conv with a constant weight. */
export function convRewrites(model: ReadOnnxModel, values: GraphValues): Map<OnnxNode, Rewrite> {
	const rewrites = new Map<OnnxNode, Rewrite>();
	for (const node of model.graph.nodes) {
		if (node.opType !== "Conv" || (node.domain ?? "") !== "") continue;
		const rewrite = convWeightRewrite(node, values);
		if (rewrite !== null) rewrites.set(node, rewrite);
	}
	return rewrites;
}

export function checkOpset(opset: number, form: Int8Form): void {
	if (opset < MIN_OPSET[form])
		throw new InvalidInputError(
			`the ${form} form needs ONNX opset ${MIN_OPSET[form]} or later; the model imports opset ${opset}`,
			{ field: "params.form" },
		);
}
