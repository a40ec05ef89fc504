import { parseDataset } from "../../../lib/datasets/parse-dataset";
import { InvalidInputError } from "../../../lib/errors";
import { compileRequestValidator } from "../../../lib/inference/request-validator";
import { compilePipeline } from "../../../lib/pipelines/compile-pipeline";
import { checkVersionSpec } from "../../../lib/model-spec/version-spec";
import { fitPreprocessing, type RawRow } from "../../../lib/training/preprocessing";
import { servingSpec } from "../../../lib/training/serving-spec";

// Numeric with a missing value, a constant column, a categorical with a missing value.
const CSV = [
	"height,k,color,weight,label",
	"1.7,3,red,60.5,a",
	"1.8,3,green,,b",
	"NA,3,blue,80.25,a",
	"1.6,3,,55,b",
	"1.9,3,red,90.125,a",
	"1.75,3,red,70,b",
].join("\n");
const TRAIN = Uint32Array.from([0, 1, 2, 3]);

async function fitted() {
	const dataset = await parseDataset(CSV, { format: "csv", labelColumn: "label" });
	return { dataset, pre: fitPreprocessing(dataset, { labelColumn: "label", trainRows: TRAIN }) };
}

describe("fitPreprocessing", () => {
	it("takes its statistics from the train rows only", async () => {
		const { pre } = await fitted();
		const [height, k, color, weight] = pre.features;
		// Train heights 1.7, 1.8, (missing), 1.6: mean 1.7, population std sqrt(0.02/3).
		expect(height).toMatchObject({ kind: "numeric" });
		expect(height.kind === "numeric" && height.mean).toBeCloseTo(1.7, 12);
		expect(height.kind === "numeric" && height.std).toBeCloseTo(Math.sqrt(0.02 / 3), 12);
		// A constant column divides by 1, not 0.
		expect(k).toEqual({ name: "k", kind: "numeric", mean: 3, std: 1 });
		// red, green, blue once each in train: the first in category order wins the tie.
		expect(color).toEqual({
			name: "color",
			kind: "categorical",
			categories: ["blue", "green", "red"],
			mostFrequent: 0,
		});
		expect(weight.kind === "numeric" && weight.mean).toBeCloseTo((60.5 + 80.25 + 55) / 3, 12);
		expect(pre.inputWidth).toBe(4);
		expect(pre.outputWidth).toBe(6);
	});

	it("standardizes, imputes and one-hots into the documented layout", async () => {
		const { dataset, pre } = await fitted();
		const [height, , , weight] = pre.features;
		if (height.kind !== "numeric" || weight.kind !== "numeric") throw new Error("numeric");
		const x = pre.transformDataset(dataset, [2, 3]);
		const z = (v: number, f: typeof height) => Math.fround((Math.fround(v) - f.mean) / f.std);
		// Row 2: height missing → mean → 0; blue → [1, 0, 0].
		expect(Array.from(x.subarray(0, 6))).toEqual([0, 0, 1, 0, 0, z(80.25, weight)]);
		// Row 3: color missing → blue (most frequent) → [1, 0, 0].
		expect(Array.from(x.subarray(6, 12))).toEqual([z(1.6, height), 0, 1, 0, 0, z(55, weight)]);
	});

	it("makes a pipeline the registry accepts and the serving pipeline reproduces bit for bit", async () => {
		const { dataset, pre } = await fitted();
		const spec = servingSpec(pre, "classification", ["a", "b"]);
		expect(() => checkVersionSpec({ ...spec, metrics: [] })).not.toThrow();
		expect(spec.schema.inputs[0].features?.map(f => f.name)).toEqual([
			"height",
			"k",
			"color",
			"weight",
		]);
		const pipeline = compilePipeline(spec.pipeline, spec.schema, spec.labels);
		expect(pipeline.pre.outputWidth).toBe(6);
		expect(pipeline.imputedColumns).toEqual([0, 1, 2, 3]);

		const raw: RawRow[] = [
			[1.7, 3, "red", 60.5],
			{ height: "1.83", k: 3, color: "green", weight: null },
			[null, 3, "blue", 80.25],
			[1.6, 3, null, 55],
			[2.5, 4, "red", 1000.1], // outside the training range: still the same arithmetic
		];
		const input = pre.inputTensor(raw);
		const [served] = pipeline.preprocess([input]);
		expect(served.datatype).toBe("FP32");
		expect(served.shape).toEqual([5, 6]);
		const trained = pre.transformRows(raw);
		expect(Array.from(served.data as Float32Array)).toEqual(Array.from(trained));
		// And the dataset's own rows make the same features as the same values sent raw.
		expect(Array.from(pre.transformDataset(dataset, [0, 2, 3]))).toEqual(
			Array.from(pre.transformRows([raw[0], raw[2], raw[3]])),
		);
	});

	it("gives an OIP request's instances, categories by name and null for missing, the same features", async () => {
		const { pre } = await fitted();
		const spec = servingSpec(pre, "classification", ["a", "b"]);
		const pipeline = compilePipeline(spec.pipeline, spec.schema, spec.labels);
		const validate = compileRequestValidator(
			spec.schema,
			{},
			{ imputedColumns: pipeline.imputedColumns, addedOutputs: pipeline.addedOutputs },
		);
		const rows = [
			{ height: 1.83, k: 3, color: "green", weight: null },
			{ height: null, k: 3, color: "red", weight: 72.5 },
		];
		const request = validate({ instances: rows });
		const [served] = pipeline.preprocess(request.inputs);
		expect(Array.from(served.data as Float32Array)).toEqual(
			Array.from(pre.transformRows(rows)),
		);
	});

	it("refuses an unknown category or a non-number in a raw row, naming the row and feature", async () => {
		const { pre } = await fitted();
		expect(() => pre.transformRows([[1.7, 3, "purple", 60]])).toThrow(InvalidInputError);
		expect(() => pre.transformRows([[1.7, 3, "purple", 60]])).toThrow(
			/row 1, feature 'color': the value is not one of its categories/,
		);
		expect(() => pre.transformRows([[1.7, "tall", "red", 60]])).toThrow(/feature 'k'/);
	});

	it("uses only the features asked for, in their order", async () => {
		const { dataset } = await fitted();
		const pre = fitPreprocessing(dataset, {
			labelColumn: "label",
			features: ["weight", "height"],
			trainRows: TRAIN,
		});
		expect(pre.features.map(f => f.name)).toEqual(["weight", "height"]);
		expect(() =>
			fitPreprocessing(dataset, {
				labelColumn: "label",
				features: ["nope"],
				trainRows: TRAIN,
			}),
		).toThrow(/no column 'nope'/);
	});
});

describe("servingSpec", () => {
	it("describes a regressor: one FP32 prediction, no post-processing, no labels", async () => {
		const { pre } = await fitted();
		const spec = servingSpec(pre, "regression", null);
		expect(spec.schema.outputs).toEqual([
			{ name: "prediction", datatype: "FP32", shape: [-1, 1] },
		]);
		expect(spec.pipeline.post).toEqual([]);
		expect(spec.labels).toBeNull();
	});

	it("describes a classifier: probabilities per class, argmax to the label", async () => {
		const { pre } = await fitted();
		const spec = servingSpec(pre, "classification", ["a", "b"]);
		expect(spec.schema.outputs).toEqual([
			{ name: "probabilities", datatype: "FP32", shape: [-1, 2] },
		]);
		expect(spec.pipeline.post).toEqual([{ type: "argmax" }]);
		expect(spec.labels).toEqual(["a", "b"]);
	});
});
