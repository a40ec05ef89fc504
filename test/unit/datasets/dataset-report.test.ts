import { datasetReport } from "../../../lib/datasets/dataset-report";
import { parseDataset } from "../../../lib/datasets/parse-dataset";

describe("datasetReport", () => {
	it("gives each column's type, missing count and range or categories, and the label's balance", async () => {
		const dataset = await parseDataset("x,color,label\n1,red,a\n2,,a\n3,blue,b\nNA,red,a\n", {
			format: "csv",
			labelColumn: "label",
		});
		const report = datasetReport(dataset);
		expect(report.rows).toBe(4);
		expect(report.sha256).toBe(dataset.sha256);
		expect(report.columns[0]).toEqual({
			name: "x",
			type: "numeric",
			missing: 1,
			min: 1,
			max: 3,
			mean: 2,
			std: Math.sqrt(2 / 3),
			distinct: 3,
			quantiles: expect.any(Array),
		});
		// Every percentile, linear between order statistics (numpy's default): 1, 1.02, …, 3.
		const quantiles = (report.columns[0] as { quantiles: number[] }).quantiles;
		expect(quantiles).toHaveLength(101);
		expect(quantiles[0]).toBe(1);
		expect(quantiles[25]).toBeCloseTo(1.5, 10);
		expect(quantiles[50]).toBe(2);
		expect(quantiles[100]).toBe(3);
		expect(report.columns[1]).toEqual({
			name: "color",
			type: "categorical",
			missing: 1,
			categories: [
				{ value: "blue", count: 1 },
				{ value: "red", count: 2 },
			],
		});
		expect(report.label).toEqual({
			column: "label",
			type: "categorical",
			classes: [
				{ value: "a", count: 3, fraction: 0.75 },
				{ value: "b", count: 1, fraction: 0.25 },
			],
			imbalanceRatio: 3,
		});
		expect(report.warnings).toEqual([
			"label class 'b' has 1 row; too few to split into train, validation and test.",
		]);
	});

	it("warns about constant and mostly-missing columns", async () => {
		const dataset = await parseDataset("k,m,y\n5,1,1\n5,,2\n5,,3\n", { format: "csv" });
		const { warnings, label } = datasetReport(dataset);
		expect(label).toBeNull();
		expect(warnings).toContain("column 'k' is constant (5); it tells nothing.");
		expect(warnings.some(w => w.startsWith("column 'm': 2 of 3 values are missing"))).toBe(
			true,
		);
	});

	it("gives no classes for a numeric label with more distinct values than maxCategories", async () => {
		const rows = Array.from({ length: 30 }, (_, i) => `${i},${i * 1.5}`).join("\n");
		const dataset = await parseDataset(`x,y\n${rows}\n`, {
			format: "csv",
			labelColumn: "y",
			maxCategories: 10,
		});
		expect(datasetReport(dataset).label).toEqual({
			column: "y",
			type: "numeric",
			classes: null,
			imbalanceRatio: null,
		});
	});
});
