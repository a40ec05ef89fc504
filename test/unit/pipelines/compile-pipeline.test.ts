import { InvalidInputError } from "../../../lib/errors";
import { compileRequestValidator } from "../../../lib/inference/request-validator";
import { encodeInferenceResponse } from "../../../lib/inference/response-encoder";
import type { Tensor } from "../../../lib/inference/tensor";
import { compilePipeline } from "../../../lib/pipelines/compile-pipeline";
import type { ModelSchema } from "../../../lib/model-spec/model-schema";
import type { PipelineSpec } from "../../../lib/model-spec/version-spec";

const SCHEMA: ModelSchema = {
	inputs: [
		{
			name: "x",
			datatype: "FP32",
			shape: [-1, 3],
			features: [
				{ name: "sepal_length", min: 0, max: 10 },
				{ name: "petal_width", min: 0, max: 3 },
				{ name: "color", categories: ["red", "green"] },
			],
		},
	],
	outputs: [{ name: "logits", datatype: "FP32", shape: [-1, 3] }],
};

const PIPELINE: PipelineSpec = {
	pre: [
		{ type: "impute", strategy: "mean", values: [6, 1.5, 0] },
		{ type: "one-hot", feature: 2, categories: ["red", "green"] },
		{ type: "standardize", mean: [6, 1.5, 0, 0], std: [2, 0.5, 1, 1] },
	],
	post: [{ type: "softmax" }, { type: "top-k", k: 2 }, { type: "argmax" }],
};

const LABELS = ["setosa", "versicolor", "virginica"];

/** A model that records what it was given and answers fixed logits. */
function fakeModel() {
	const seen: Tensor[][] = [];
	const run = async (inputs: Tensor[]): Promise<Tensor[]> => {
		seen.push(inputs);
		// Softmax of these: [1/5, 3/5, 1/5] and [4/8, 1/8, 3/8].
		const logits = [0, Math.log(3), 0, Math.log(4), 0, Math.log(3)];
		return [
			{ name: "logits", datatype: "FP32", shape: [2, 3], data: Float32Array.from(logits) },
		];
	};
	return { seen, run };
}

const round = (values: ArrayLike<number>) => Array.from(values, v => Number(v.toFixed(6)));

describe("compilePipeline", () => {
	const pipeline = compilePipeline(PIPELINE, SCHEMA, LABELS);
	const validate = compileRequestValidator(
		SCHEMA,
		{},
		{
			imputedColumns: pipeline.imputedColumns,
			addedOutputs: pipeline.addedOutputs,
		},
	);

	it("tells the validator which columns it imputes and which outputs it adds", () => {
		expect(pipeline.imputedColumns).toEqual([0, 1, 2]);
		expect(pipeline.addedOutputs).toEqual([
			"predicted_label",
			"top_k_labels",
			"top_k_scores",
			"confidence",
			"confidence_margin",
		]);
		expect(pipeline.pre.outputWidth).toBe(4);
	});

	it("takes instances through pre-processing, the model and post-processing in one pass", async () => {
		const request = validate({
			id: "7",
			instances: [
				{ sepal_length: 8, petal_width: null, color: "green" },
				{ sepal_length: 4, petal_width: 2.5, color: "red" },
			],
			outputs: [
				{ name: "predicted_label" },
				{ name: "confidence" },
				{ name: "top_k_labels" },
			],
		});
		const model = fakeModel();
		const { outputs, steps } = await pipeline.run(request.inputs, model.run);

		expect(steps).toEqual([
			"impute",
			"one-hot",
			"standardize",
			"softmax",
			"top-k",
			"argmax",
			"confidence",
		]);
		// Imputed [8, 1.5, green], [4, 2.5, red]; one-hot [red, green]; then standardized.
		expect(model.seen[0]).toEqual([
			{
				name: "x",
				datatype: "FP32",
				shape: [2, 4],
				data: Float32Array.of(1, 0, 0, 1, -1, 2, 1, 0),
			},
		]);
		const named = new Map(outputs.map(t => [t.name, t]));
		expect(round(named.get("logits")!.data as Float32Array)).toEqual([
			0.2, 0.6, 0.2, 0.5, 0.125, 0.375,
		]);
		// A tie at 0.2 keeps the lower class (setosa) first.
		expect(named.get("top_k_labels")!.data).toEqual([
			"versicolor",
			"setosa",
			"setosa",
			"virginica",
		]);
		expect(round(named.get("top_k_scores")!.data as Float64Array)).toEqual([
			0.6, 0.2, 0.5, 0.375,
		]);
		expect(named.get("predicted_label")!.data).toEqual(["versicolor", "setosa"]);
		expect(round(named.get("confidence")!.data as Float64Array)).toEqual([0.6, 0.5]);
		expect(round(named.get("confidence_margin")!.data as Float64Array)).toEqual([0.4, 0.125]);

		const response = encodeInferenceResponse({
			modelName: "iris",
			modelVersion: "1.0.0",
			id: request.id,
			outputs,
			requested: request.outputs,
		});
		expect(response.id).toBe("7");
		expect(response.outputs.map(o => o.name)).toEqual([
			"predicted_label",
			"confidence",
			"top_k_labels",
		]);
		expect(response.outputs[0]).toEqual({
			name: "predicted_label",
			shape: [2],
			datatype: "BYTES",
			data: ["versicolor", "setosa"],
		});
	});

	it("gives the same model input for the same rows sent as a tensor with category codes", async () => {
		const request = validate({
			inputs: [
				{
					name: "x",
					datatype: "FP32",
					shape: [2, 3],
					data: [
						[8, null, 1],
						[4, 2.5, 0],
					],
				},
			],
		});
		const model = fakeModel();
		await pipeline.run(request.inputs, model.run);
		expect(model.seen[0][0].data).toEqual(Float32Array.of(1, 0, 0, 1, -1, 2, 1, 0));
	});

	it("leaves a one-hot column that is imputed only after it out of the missing values allowed", () => {
		const late = compilePipeline(
			{
				pre: [
					{ type: "one-hot", feature: 2, categories: ["red", "green"] },
					{ type: "impute", strategy: "constant", values: [6, 1.5, 0, 0] },
				],
				post: [],
			},
			SCHEMA,
			null,
		);
		expect(late.imputedColumns).toEqual([0, 1]);
		const strict = compileRequestValidator(SCHEMA, {}, { imputedColumns: late.imputedColumns });
		let error: InvalidInputError | undefined;
		try {
			strict({ instances: [{ sepal_length: 5, petal_width: null }] });
		} catch (caught) {
			error = caught as InvalidInputError;
		}
		expect(error).toBeInstanceOf(InvalidInputError);
		expect(error?.code).toBe(400);
		expect(error?.message).toBe(
			"instances[0] (input 'x') feature 'color' (index 2): missing value (absent, null or NaN), which this column does not allow: the version's pipeline does not impute it; expected one of 'red', 'green'.",
		);
	});
});
