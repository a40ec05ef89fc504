import { checkJobAgainstDataset } from "../../../lib/scheduler/job-submission";
import { validateJobSpec } from "../../../lib/training/job-spec";

const report = {
	columns: [
		{
			name: "a",
			type: "numeric",
			missing: 0,
			min: 0,
			max: 1,
			mean: 0.5,
			std: 0.1,
			distinct: null,
		},
		{
			name: "b",
			type: "numeric",
			missing: 2,
			min: 0,
			max: 1,
			mean: 0.5,
			std: 0.1,
			distinct: 3,
		},
		{
			name: "label",
			type: "categorical",
			missing: 0,
			categories: [
				{ value: "x", count: 3 },
				{ value: "y", count: 4 },
			],
		},
		{ name: "one", type: "categorical", missing: 0, categories: [{ value: "x", count: 7 }] },
	],
};
const dataset = { ref: "d@1", report };
const spec = (over: Record<string, unknown>) =>
	validateJobSpec({ dataset: "d@1", labelColumn: "label", seed: 1, ...over });

describe("checkJobAgainstDataset", () => {
	it("accepts a label and features the dataset has", () => {
		expect(() => checkJobAgainstDataset(spec({ features: ["a"] }), dataset)).not.toThrow();
	});

	it("names the field and lists the columns when one is missing", () => {
		expect(() => checkJobAgainstDataset(spec({ labelColumn: "species" }), dataset)).toThrow(
			/labelColumn: dataset d@1 has no column 'species'; its columns are: a, b, label, one/,
		);
		expect(() => checkJobAgainstDataset(spec({ features: ["a", "zz"] }), dataset)).toThrow(
			/features: .*'zz'/,
		);
	});

	it("refuses a label that cannot serve the task", () => {
		expect(() => checkJobAgainstDataset(spec({ task: "regression" }), dataset)).toThrow(
			/is categorical .*use task "classification"/,
		);
		expect(() => checkJobAgainstDataset(spec({ labelColumn: "one" }), dataset)).toThrow(
			/has 1 class/,
		);
		expect(() =>
			checkJobAgainstDataset(spec({ labelColumn: "b", task: "regression" }), dataset),
		).toThrow(/2 missing values/);
		expect(() => checkJobAgainstDataset(spec({ labelColumn: "a" }), dataset)).toThrow(
			/too many distinct values/,
		);
	});
});
