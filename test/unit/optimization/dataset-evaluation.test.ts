import * as fs from "node:fs";
import * as path from "node:path";
import type { Dataset } from "../../../lib/datasets/dataset";
import { datasetReport } from "../../../lib/datasets/dataset-report";
import { parseDataset } from "../../../lib/datasets/parse-dataset";
import { InvalidInputError } from "../../../lib/errors";
import {
	datasetEvaluation,
	datasetEvaluationRows,
	type DatasetEvaluationSource,
} from "../../../lib/optimization/dataset-evaluation";

let iris: Dataset;
let view: { ref: string; labelColumn: string | null; report: unknown };

beforeAll(async () => {
	iris = await parseDataset(
		fs.createReadStream(path.join(__dirname, "..", "..", "fixtures", "datasets", "iris.csv")),
		{ format: "csv", labelColumn: "label" },
	);
	view = { ref: "iris@1", labelColumn: "label", report: datasetReport(iris) };
});

/** An uploaded model's version: one FP32 [-1, 4] input, no pipeline, no labels. */
const uploaded: DatasetEvaluationSource = {
	version: "1.0.0",
	schema: {
		inputs: [{ name: "x", datatype: "FP32", shape: [-1, 4] }],
		outputs: [{ name: "y", datatype: "FP32", shape: [-1, 3] }],
	},
	pipeline: { pre: [], post: [] },
	labels: null,
};

const COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"];

function refusal(run: () => unknown): { field: unknown; message: string } {
	try {
		run();
	} catch (error) {
		expect(error).toBeInstanceOf(InvalidInputError);
		const e = error as InvalidInputError;
		return { field: (e.data as { field?: unknown }).field, message: e.message };
	}
	throw new Error("expected a refusal");
}

describe("datasetEvaluation", () => {
	it("takes the numeric columns but the label, in file order, and the dataset's label column", () => {
		expect(datasetEvaluation({}, uploaded, view)).toEqual({
			dataset: "iris@1",
			labelColumn: "label",
			features: COLUMNS,
		});
		const reordered = [...COLUMNS].reverse();
		expect(datasetEvaluation({ features: reordered }, uploaded, view).features).toEqual(
			reordered,
		);
	});

	it("refuses columns that cannot feed the input, naming the field and the fix", () => {
		expect(
			refusal(() => datasetEvaluation({ features: ["petal_width"] }, uploaded, view)),
		).toEqual({
			field: "features",
			message: expect.stringMatching(/takes 4 columns per row, but 1 .* name exactly 4/),
		});
		expect(
			refusal(() => datasetEvaluation({ labelColumn: "species" }, uploaded, view)).field,
		).toBe("labelColumn");
		expect(
			refusal(() =>
				datasetEvaluation({}, uploaded, { ...view, labelColumn: null, ref: "iris@2" }),
			).message,
		).toMatch(/no label column of its own/);
		expect(
			refusal(() =>
				datasetEvaluation({ features: [...COLUMNS.slice(1), "label"] }, uploaded, view),
			).field,
		).toBe("features");
	});
});

describe("datasetEvaluationRows", () => {
	it("feeds every row through the version's pipeline.pre, classes in the version's label order", () => {
		const mean = [5, 3, 4, 1];
		const std = [2, 1, 2, 0.5];
		const source: DatasetEvaluationSource = {
			...uploaded,
			pipeline: { pre: [{ type: "standardize", mean, std }], post: [] },
			labels: ["virginica", "versicolor", "setosa"],
		};
		const rows = datasetEvaluationRows(
			iris,
			{ dataset: "iris@1", labelColumn: "label", features: COLUMNS },
			source,
		);
		expect(rows.test).toBe(rows.train);
		expect(rows.test.rows).toBe(150);
		expect(rows.test.width).toBe(4);
		const first = COLUMNS.map((_, c) => rows.test.features[c]);
		expect(first).toEqual(
			[5.1, 3.5, 1.4, 0.2].map((x, c) => Math.fround((Math.fround(x) - mean[c]) / std[c])),
		);
		// Row 0 is a setosa: index 2 in the version's labels (the dataset's own order gives 0).
		expect(rows.test.labels![0]).toBe(2);
		const plain = datasetEvaluationRows(
			iris,
			{ dataset: "iris@1", labelColumn: "label", features: COLUMNS },
			uploaded,
		);
		expect(plain.test.labels![0]).toBe(0);
		expect(Array.from(plain.test.features.subarray(0, 4))).toEqual(
			[5.1, 3.5, 1.4, 0.2].map(Math.fround),
		);
	});

	it("refuses a dataset with classes the version does not know", () => {
		const source = { ...uploaded, labels: ["setosa", "versicolor"] };
		expect(
			refusal(() =>
				datasetEvaluationRows(
					iris,
					{ dataset: "iris@1", labelColumn: "label", features: COLUMNS },
					source,
				),
			),
		).toEqual({
			field: "labelColumn",
			message: expect.stringMatching(/'virginica' are not among the version's labels/),
		});
	});
});
