/**
 * Each recipe on the digits MLP and the small CNN, judged as the issue asks: INT8 dynamic ≥ 3×
 * smaller, accuracy within 1 point, argmax agreement ≥ 98 %; FP16 about half the size, outputs
 * within 1e-2 relative; graph optimization within 1e-5; static INT8 with 200 calibration rows.
 */
import type { Dataset } from "../../../lib/datasets/dataset";
import { evaluateOptimization } from "../../../lib/optimization/evaluation";
import type { OptimizationRecipe, RecipeDataset } from "../../../lib/optimization/recipe";
import { recipeFor } from "../../../lib/optimization/recipes";
import { readOnnxModel } from "../../../lib/onnx/onnx-reader";
import {
	digitsCnn,
	loadDigits,
	trainDigitsMlp,
	type DigitsModel,
} from "../../../bench/models/digits-models";

let digits: Dataset;
const models: Record<string, DigitsModel> = {};

beforeAll(async () => {
	digits = await loadDigits();
	models.mlp = await trainDigitsMlp(digits);
	models.cnn = await digitsCnn(digits);
}, 60_000);

async function optimize(
	model: DigitsModel,
	kind: string,
	params?: unknown,
	calibration: RecipeDataset | null = null,
) {
	const recipe: OptimizationRecipe = recipeFor(kind);
	const output = await recipe.run({
		sourceFile: model.onnx,
		sourceFormat: "onnx",
		params: recipe.validateParams(params),
		dataset: calibration,
		signal: new AbortController().signal,
		progress: () => {},
	});
	const evaluation = await evaluateOptimization(model.onnx, output.file, model.test, {
		skipLatency: true,
	});
	return { output, evaluation };
}

describe.each(["mlp", "cnn"])("optimization recipes on the digits %s", name => {
	it("has a source model that classifies digits well", async () => {
		const { evaluation } = await optimize(models[name], "graph");
		expect(evaluation.accuracy!.source).toBeGreaterThan(0.85);
	});

	it.each(["integer", "qdq"])(
		"int8-dynamic (%s form): ≥ 3× smaller, accuracy within 1 point, argmax ≥ 98 %%",
		async form => {
			const { output, evaluation } = await optimize(models[name], "int8-dynamic", { form });
			expect(evaluation.size.ratio).toBeGreaterThanOrEqual(3);
			expect(Math.abs(evaluation.accuracy!.delta)).toBeLessThanOrEqual(0.01);
			expect(evaluation.agreement.argmax).toBeGreaterThanOrEqual(0.98);
			const weights = readOnnxModel(output.file).graph.initializers;
			expect(weights.some(t => t.data instanceof Int8Array && t.data.length >= 1280)).toBe(
				true,
			);
			// The float weights are gone, their int8 copies in their place.
			const floatWeights =
				name === "mlp" ? ["dense_1/kernel", "dense_3/kernel"] : ["dense_w", "conv_w"];
			const names = weights.map(t => t.name);
			for (const weight of floatWeights) {
				expect(names).not.toContain(weight);
				expect(names).toContain(`${weight}/q`);
			}
		},
	);

	it("fp16: about half the size, outputs within 1e-2 relative", async () => {
		const { output, evaluation } = await optimize(models[name], "fp16");
		expect(evaluation.size.ratio).toBeGreaterThan(1.7);
		expect(evaluation.agreement.maxRelDiff).toBeLessThanOrEqual(1e-2);
		expect(evaluation.agreement.argmax).toBeGreaterThanOrEqual(0.99);
		const model = readOnnxModel(output.file);
		expect(model.graph.inputs[0].datatype).toBe("FP32"); // keepIoTypes
		expect(model.graph.initializers.every(t => !(t.data instanceof Float32Array))).toBe(true);
	});

	it("fp16 without keepIoTypes takes and gives float16, and is evaluated with float16 rows", async () => {
		const { output, evaluation } = await optimize(models[name], "fp16", { keepIoTypes: false });
		const model = readOnnxModel(output.file);
		expect(model.graph.inputs[0].datatype).toBe("FP16");
		expect(model.graph.outputs[0].datatype).toBe("FP16");
		expect(evaluation.agreement.maxRelDiff).toBeLessThanOrEqual(1e-2);
		expect(evaluation.agreement.argmax).toBeGreaterThanOrEqual(0.98);
	});

	it.each(["basic", "extended", "all"])("graph (%s): outputs within 1e-5", async level => {
		const { evaluation } = await optimize(models[name], "graph", { level });
		expect(evaluation.agreement.maxAbsDiff).toBeLessThanOrEqual(1e-5);
		expect(evaluation.agreement.argmax).toBe(1);
	});

	it.each(["minmax", "percentile"])(
		"int8-static (%s) with 200 calibration rows keeps accuracy within 1 point",
		async calibration => {
			const { output, evaluation } = await optimize(
				models[name],
				"int8-static",
				{ calibration },
				models[name].train,
			);
			expect(output.details?.calibrationRows).toBe(200);
			expect(evaluation.size.ratio).toBeGreaterThanOrEqual(name === "mlp" ? 2.5 : 1.5);
			expect(Math.abs(evaluation.accuracy!.delta)).toBeLessThanOrEqual(0.01);
			expect(evaluation.agreement.argmax).toBeGreaterThanOrEqual(0.97);
		},
	);
});

describe("recipe parameters", () => {
	it("refuses unknown recipes, unknown fields and bad values, naming the field", () => {
		expect(() => recipeFor("int4")).toThrow(/recipe must be one of/);
		expect(() => recipeFor("graph").validateParams({ level: "max" })).toThrow(/params.level/);
		expect(() => recipeFor("fp16").validateParams({ keep: true })).toThrow(/unknown field/);
		expect(() => recipeFor("int8-static").validateParams({ calibrationRows: 0 })).toThrow(
			/params.calibrationRows/,
		);
		expect(() => recipeFor("int8-dynamic").validateParams({ ops: ["Relu"] })).toThrow(
			/params.ops/,
		);
	});

	it("int8-static needs calibration rows", async () => {
		await expect(optimize(models.mlp, "int8-static")).rejects.toThrow(/calibration rows/);
	});
});
