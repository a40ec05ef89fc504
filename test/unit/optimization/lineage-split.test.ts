import * as fs from "node:fs";
import * as path from "node:path";
import type { Dataset } from "../../../lib/datasets/dataset";
import { splitDataset } from "../../../lib/datasets/dataset-split";
import { parseDataset } from "../../../lib/datasets/parse-dataset";
import { InvalidInputError } from "../../../lib/errors";
import { lineageSplit } from "../../../lib/optimization/lineage-split";

let iris: Dataset;

beforeAll(async () => {
	iris = await parseDataset(
		fs.createReadStream(path.join(__dirname, "..", "..", "fixtures", "datasets", "iris.csv")),
		{ format: "csv", labelColumn: "label" },
	);
});

const split = { train: 0.6, validation: 0.2, test: 0.2 };

describe("lineageSplit", () => {
	it("makes again the stratified split the training run recorded", () => {
		const lineage = {
			datasetSha256: iris.sha256,
			seed: 11,
			hyperparameters: { task: "classification", labelColumn: "label", split },
		};
		const expected = splitDataset(iris, { fractions: split, seed: 11, stratifyBy: "label" });
		expect(lineageSplit(iris, lineage)).toEqual(expected);
		expect(lineageSplit(iris, { ...lineage, seed: 12 }).train).not.toEqual(expected.train);
	});

	it("refuses a lineage that is not a training job's, and another dataset", () => {
		expect(() => lineageSplit(iris, { parentVersion: "1.0.0" })).toThrow(
			/not trained by the fleet/,
		);
		expect(() =>
			lineageSplit(iris, {
				datasetSha256: "0".repeat(64),
				seed: 1,
				hyperparameters: { labelColumn: "label", split },
			}),
		).toThrow(InvalidInputError);
	});
});
