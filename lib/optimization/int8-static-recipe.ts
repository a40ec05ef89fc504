/**
 * INT8 static quantization: int8 per-channel weights as in the dynamic recipe, and the
 * activations that MatMul/Gemm read quantized to uint8 with ranges fixed beforehand from
 * calibration rows (QDQ format): "minmax" takes the smallest and largest value seen,
 * "percentile" clips the tails (e.g. the 99.99th percentile), which helps when rare outliers
 * would otherwise stretch the range and waste resolution.
 */
import * as ort from "onnxruntime-node";
import { InvalidInputError } from "../errors";
import { readOnnxModel, type ReadOnnxModel } from "../onnx/onnx-reader";
import { writeOnnxModel, type OnnxNode } from "../onnx/onnx-writer";
import { applyRewrites, onnxOpset } from "./apply-rewrites";
import { GraphValues } from "./graph-values";
import { activationRange, qdqRewrite, type ActivationRange, type Rewrite } from "./int8-rewrite";
import { checkOpset, convRewrites } from "./int8-dynamic-recipe";
import { runRows } from "./model-rows";
import { quantizableMatMuls } from "./quantize-weights";
import type { OptimizationRecipe, RecipeDataset } from "./recipe";
import { numberParam, oneOf, paramsObject } from "./recipe-params";

export interface Int8StaticParams {
	/** Default "minmax". */
	calibration: "minmax" | "percentile";
	/** For "percentile": the share of values kept inside the range, in percent. Default 99.99. */
	percentile: number;
	/** Calibration rows taken from the start of the dataset. Default 200. */
	calibrationRows: number;
}

export const int8StaticRecipe: OptimizationRecipe<Int8StaticParams> = {
	kind: "int8-static",
	description: "int8 weights and activations (QDQ), activation ranges from calibration rows",
	sourceFormats: ["onnx"],
	needsDataset: true,
	validateParams(raw) {
		const params = paramsObject(raw, "int8-static", [
			"calibration",
			"percentile",
			"calibrationRows",
		]);
		return {
			calibration: oneOf(
				params.calibration,
				"calibration",
				["minmax", "percentile"],
				"minmax",
			),
			percentile: numberParam(params.percentile, "percentile", { min: 50, max: 100 }, 99.99),
			calibrationRows: numberParam(
				params.calibrationRows,
				"calibrationRows",
				{ min: 1, max: 100_000, integer: true },
				200,
			),
		};
	},
	async run({ sourceFile, params, dataset, progress }) {
		if (dataset === null || dataset.rows === 0)
			throw new InvalidInputError("int8-static needs calibration rows: name a dataset", {
				field: "dataset",
			});
		const model = readOnnxModel(sourceFile);
		checkOpset(onnxOpset(model), "qdq");
		const values = new GraphValues(model.graph);
		const targets = quantizableMatMuls(model, values, ["MatMul", "Gemm"]);
		if (targets.length === 0)
			throw new InvalidInputError(
				"the model has no MatMul or Gemm with a constant 2-D weight",
				{
					field: "recipe",
				},
			);
		progress(0.1, `calibrating on ${Math.min(dataset.rows, params.calibrationRows)} rows`);
		const activations = [...new Set(targets.map(t => t.activation))];
		const ranges = await calibrate(model, activations, dataset, params);
		progress(0.7, `quantizing ${targets.length} node(s)`);
		// Conv weights int8 too (weight-only); activations are quantized in front of MatMul/Gemm.
		const rewrites = new Map<OnnxNode, Rewrite>(convRewrites(model, values));
		const activationDq = new Map<string, string>();
		for (const target of targets)
			rewrites.set(
				target.node,
				qdqRewrite(target, values, ranges.get(target.activation)!, activationDq),
			);
		return {
			file: writeOnnxModel(applyRewrites(model, rewrites)),
			format: "onnx",
			notes: [
				`${targets.length} MatMul/Gemm node(s) quantized: int8 weights per channel, uint8 activations`,
				`activation ranges from ${Math.min(dataset.rows, params.calibrationRows)} rows (${params.calibration}${params.calibration === "percentile" ? ` ${params.percentile}` : ""})`,
			],
			details: {
				calibration: params.calibration,
				calibrationRows: Math.min(dataset.rows, params.calibrationRows),
				ranges: Object.fromEntries(ranges),
			},
		};
	},
};

/** Each activation's range over the calibration rows, read by exposing it as an output. */
async function calibrate(
	model: ReadOnnxModel,
	activations: readonly string[],
	dataset: RecipeDataset,
	params: Int8StaticParams,
): Promise<Map<string, ActivationRange>> {
	const outputs = new Set(model.graph.outputs.map(o => o.name));
	const exposed = writeOnnxModel({
		...model,
		graph: {
			...model.graph,
			outputs: [
				...model.graph.outputs,
				...activations
					.filter(a => !outputs.has(a))
					.map(name => ({ name, datatype: "FP32" as const, shape: null })),
			],
		},
	});
	const rows = Math.min(dataset.rows, params.calibrationRows);
	const session = await ort.InferenceSession.create(exposed);
	try {
		const inputShape = model.graph.inputs[0]?.shape ?? null;
		const run = await runRows(session, dataset.features, rows, dataset.width, {
			inputShape,
			outputNames: activations.filter(a => !model.graph.inputs.some(i => i.name === a)),
		});
		const ranges = new Map<string, ActivationRange>();
		for (const activation of activations) {
			const seen =
				run.outputs.get(activation) ?? dataset.features.subarray(0, rows * dataset.width);
			const [min, max] =
				params.calibration === "minmax"
					? minMax(seen)
					: percentileRange(seen, params.percentile);
			ranges.set(activation, activationRange(min, max));
		}
		return ranges;
	} finally {
		await session.release();
	}
}

export function minMax(values: Float32Array): [number, number] {
	let min = Infinity;
	let max = -Infinity;
	for (const v of values) {
		if (v < min) min = v;
		if (v > max) max = v;
	}
	return values.length > 0 ? [min, max] : [0, 0];
}

/** The (100 − p)th and pth percentiles of the values (nearest rank). */
export function percentileRange(values: Float32Array, percentile: number): [number, number] {
	if (values.length === 0) return [0, 0];
	const sorted = Float32Array.from(values).sort();
	const at = (p: number) =>
		sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
	return [at(100 - percentile), at(percentile)];
}
