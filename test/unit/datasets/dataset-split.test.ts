import { partSizes, splitDataset, splitRows } from "../../../lib/datasets/dataset-split";
import { parseDataset } from "../../../lib/datasets/parse-dataset";
import { InvalidInputError } from "../../../lib/errors";

const FRACTIONS = { train: 0.7, validation: 0.15, test: 0.15 };

describe("splitRows", () => {
	it("puts every row in exactly one split, in the fractions asked", () => {
		const split = splitRows(1000, FRACTIONS, 42);
		expect([split.train.length, split.validation.length, split.test.length]).toEqual([
			700, 150, 150,
		]);
		const all = [...split.train, ...split.validation, ...split.test].sort((a, b) => a - b);
		expect(all).toEqual(Array.from({ length: 1000 }, (_, i) => i));
	});

	it("gives the same split for the same seed and another for another seed", () => {
		const a = splitRows(200, FRACTIONS, 7);
		expect(splitRows(200, FRACTIONS, 7)).toEqual(a);
		expect(Array.from(splitRows(200, FRACTIONS, 8).test)).not.toEqual(Array.from(a.test));
	});

	it("keeps each class's share in every split when stratified", () => {
		// 90 rows of class 0, 10 of class 1.
		const strata = Int32Array.from({ length: 100 }, (_, i) => (i < 90 ? 0 : 1));
		const split = splitRows(100, { train: 0.6, validation: 0.2, test: 0.2 }, 3, strata);
		const ones = (rows: Uint32Array) => Array.from(rows).filter(r => strata[r] === 1).length;
		expect([ones(split.train), ones(split.validation), ones(split.test)]).toEqual([6, 2, 2]);
	});

	it("refuses fractions that do not sum to 1, naming the field", () => {
		expect(() => splitRows(10, { train: 0.5, validation: 0.2, test: 0.2 }, 1)).toThrow(
			InvalidInputError,
		);
		expect(() => splitRows(10, { train: 0, validation: 0.5, test: 0.5 }, 1)).toThrow(
			/split.train must be above 0/,
		);
		expect(() => splitRows(10, { train: 1.2, validation: -0.1, test: -0.1 }, 1)).toThrow(
			/split.train must be a fraction/,
		);
	});
});

describe("partSizes", () => {
	it("hands the rows left over to the largest remainders, train first on ties", () => {
		expect(partSizes(10, FRACTIONS)).toEqual([7, 2, 1]);
		expect(partSizes(1, FRACTIONS)).toEqual([1, 0, 0]);
		expect(partSizes(3, { train: 1 / 3, validation: 1 / 3, test: 1 / 3 })).toEqual([1, 1, 1]);
	});
});

describe("splitDataset", () => {
	it("stratifies iris-like data by its label so each species reaches the test split", async () => {
		const rows = ["a", "b", "c"].flatMap(label =>
			Array.from({ length: 20 }, (_, i) => `${i},${label}`),
		);
		const dataset = await parseDataset(`x,label\n${rows.join("\n")}\n`, { format: "csv" });
		const split = splitDataset(dataset, { fractions: FRACTIONS, seed: 1, stratifyBy: "label" });
		const labelOf = (row: number) => Math.floor(row / 20);
		const perClass = [0, 1, 2].map(
			c => Array.from(split.test).filter(r => labelOf(r) === c).length,
		);
		expect(perClass).toEqual([3, 3, 3]);
	});

	it("refuses to stratify by a column the dataset lacks", async () => {
		const dataset = await parseDataset("x\n1\n2\n", { format: "csv" });
		expect(() =>
			splitDataset(dataset, { fractions: FRACTIONS, seed: 1, stratifyBy: "nope" }),
		).toThrow(/no column 'nope'/);
	});
});
