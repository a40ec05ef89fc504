import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { Readable } from "node:stream";
import type { CategoricalColumn, Dataset, NumericColumn } from "../../../lib/datasets/dataset";
import { parseDataset } from "../../../lib/datasets/parse-dataset";
import { InvalidInputError, PayloadTooLargeError } from "../../../lib/errors";

const FIXTURES = path.join(__dirname, "..", "..", "fixtures", "datasets");

function column<T extends NumericColumn | CategoricalColumn>(dataset: Dataset, name: string): T {
	const found = dataset.columns.find(c => c.name === name);
	if (!found) throw new Error(`no column ${name}`);
	return found as T;
}

/** The error parseDataset rejects with. */
async function refusal(
	text: string,
	options: Partial<Parameters<typeof parseDataset>[1]> = {},
): Promise<InvalidInputError> {
	try {
		await parseDataset(text, { format: "csv", ...options });
	} catch (error) {
		expect(error).toBeInstanceOf(InvalidInputError);
		return error as InvalidInputError;
	}
	throw new Error("expected the dataset to be refused");
}

describe("parseDataset", () => {
	describe("on the shipped fixtures", () => {
		it("reads iris: four numeric measurements and the species as a categorical label", async () => {
			const file = path.join(FIXTURES, "iris.csv");
			const dataset = await parseDataset(fs.createReadStream(file), {
				format: "csv",
				labelColumn: "label",
			});
			expect(dataset.rowCount).toBe(150);
			expect(dataset.columns.map(c => [c.name, c.kind])).toEqual([
				["sepal_length", "numeric"],
				["sepal_width", "numeric"],
				["petal_length", "numeric"],
				["petal_width", "numeric"],
				["label", "categorical"],
			]);
			const label = column<CategoricalColumn>(dataset, "label");
			expect(label.categories).toEqual(["setosa", "versicolor", "virginica"]);
			expect(label.counts).toEqual([50, 50, 50]);
			expect(column<NumericColumn>(dataset, "sepal_length").values[0]).toBe(5.1);
			const bytes = fs.readFileSync(file);
			expect(dataset.sha256).toBe(createHash("sha256").update(bytes).digest("hex"));
			expect(dataset.bytes).toBe(bytes.length);
		});

		it("reads digits: 64 pixel columns and the digit as a numeric label with 10 levels", async () => {
			const dataset = await parseDataset(
				fs.createReadStream(path.join(FIXTURES, "digits.csv")),
				{ format: "csv", labelColumn: "label" },
			);
			expect(dataset.rowCount).toBe(1797);
			expect(dataset.columns).toHaveLength(65);
			const label = column<NumericColumn>(dataset, "label");
			expect(label.kind).toBe("numeric");
			expect(label.levels?.map(l => l.value)).toEqual(
				["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"].map(String),
			);
			expect(label.levels?.reduce((n, l) => n + l.count, 0)).toBe(1797);
		});
	});

	it("gives the same hash for the same bytes however they are chunked", async () => {
		const text = "a,b\n1,x\n2,y\n";
		const whole = await parseDataset(text, { format: "csv" });
		const chunks = Readable.from([
			Buffer.from("a,b\n1"),
			Buffer.from(",x\n2,"),
			Buffer.from("y\n"),
		]);
		const chunked = await parseDataset(chunks, { format: "csv" });
		expect(chunked.sha256).toBe(whole.sha256);
		expect(chunked.columns).toEqual(whole.columns);
	});

	it("treats empty cells, NA and null as missing values", async () => {
		const dataset = await parseDataset("x,color\n1,red\n,NA\nNA,blue\n4,\nnull,red\n", {
			format: "csv",
		});
		const x = column<NumericColumn>(dataset, "x");
		expect(Array.from(x.values)).toEqual([1, NaN, NaN, 4, NaN]);
		expect(x.missing).toBe(3);
		const color = column<CategoricalColumn>(dataset, "color");
		expect(color.categories).toEqual(["blue", "red"]);
		expect(Array.from(color.codes)).toEqual([1, -1, 0, -1, 1]);
		expect(color.missing).toBe(2);
	});

	it("makes a mostly-text column categorical, numbers included as categories", async () => {
		const dataset = await parseDataset("size\nsmall\nlarge\n3\nsmall\n", { format: "csv" });
		const size = column<CategoricalColumn>(dataset, "size");
		expect(size.kind).toBe("categorical");
		expect(size.categories).toEqual(["3", "large", "small"]);
		expect(size.counts).toEqual([1, 1, 2]);
	});

	it("lets the caller declare a numeric-looking column categorical", async () => {
		const dataset = await parseDataset("zip,y\n10115,1\n80331,2\n10115,3\n", {
			format: "csv",
			columnTypes: { zip: "categorical" },
		});
		expect(column<CategoricalColumn>(dataset, "zip").categories).toEqual(["10115", "80331"]);
	});

	it("reads NDJSON objects, null and absent keys as missing", async () => {
		const text =
			'{"a":1.5,"b":"x","ok":true}\n\n{"a":null,"b":"y","ok":false}\n{"b":"x","ok":true}';
		const dataset = await parseDataset(text, { format: "ndjson", labelColumn: "ok" });
		expect(dataset.rowCount).toBe(3);
		expect(Array.from(column<NumericColumn>(dataset, "a").values)).toEqual([1.5, NaN, NaN]);
		expect(column<CategoricalColumn>(dataset, "b").categories).toEqual(["x", "y"]);
		expect(column<CategoricalColumn>(dataset, "ok").categories).toEqual(["false", "true"]);
	});

	it("returns a frozen dataset", async () => {
		const dataset = await parseDataset("a\n1\n", { format: "csv" });
		expect(Object.isFrozen(dataset)).toBe(true);
		expect(Object.isFrozen(dataset.columns)).toBe(true);
		expect(Object.isFrozen(dataset.columns[0])).toBe(true);
	});

	describe("refuses", () => {
		it("a ragged row, naming the row, the line and the header's width", async () => {
			const error = await refusal("a,b,c\n1,2,3\n4,5\n6,7,8\n");
			expect(error.code).toBe(400);
			expect(error.message).toMatch(/row 2 \(line 3\)/);
			expect(error.message).toMatch(/2 values, but the header has 3 columns/);
			expect(error.data).toMatchObject({ row: 2, line: 3 });
		});

		it("a stray word in a numeric column, naming the row and the column", async () => {
			const rows = Array.from({ length: 20 }, (_, i) => `${i},${i / 2}`);
			rows[13] = "13,abc";
			const error = await refusal(`id,x\n${rows.join("\n")}\n`);
			expect(error.message).toMatch(
				/row 14 \(line 15\), column 'x': the value is not a number/,
			);
			expect(error.message).not.toContain("abc");
			expect(error.data).toMatchObject({ row: 14, line: 15, column: "x" });
		});

		it("text in a column declared numeric", async () => {
			const error = await refusal("x\na\nb\n", { columnTypes: { x: "numeric" } });
			expect(error.message).toMatch(/row 1 \(line 2\), column 'x'.*declared numeric/);
		});

		it("a label column the file does not have, listing the columns it has", async () => {
			const error = await refusal("a,b\n1,2\n", { labelColumn: "species" });
			expect(error.message).toMatch(/column 'species': the label column is not in the file/);
			expect(error.message).toMatch(/'a', 'b'/);
		});

		it("a row without a label", async () => {
			const error = await refusal("x,label\n1,a\n2,\n3,b\n", { labelColumn: "label" });
			expect(error.message).toMatch(/row 2 \(line 3\), column 'label': the label is missing/);
		});

		it("an empty file", async () => {
			expect((await refusal("")).message).toMatch(/the file is empty/);
			const ndjson = await parseDataset("\n\n", { format: "ndjson" }).catch(e => e);
			expect(ndjson).toBeInstanceOf(InvalidInputError);
		});

		it("a header without rows", async () => {
			expect((await refusal("a,b\n")).message).toMatch(/header but no data rows/);
		});

		it("a duplicate or empty column name", async () => {
			expect((await refusal("a,a\n1,2\n")).message).toMatch(/names column 'a' twice/);
			expect((await refusal("a,\n1,2\n")).message).toMatch(
				/column 2 of the header has no name/,
			);
		});

		it("malformed CSV (an unclosed quote), naming the line", async () => {
			const error = await refusal('a,b\n1,2\n3,"4\n');
			expect(error.message).toMatch(/not valid CSV/);
			expect(error.data).toHaveProperty("line");
		});

		it("a column whose values are all missing", async () => {
			expect((await refusal("a,b\n1,\n2,NA\n")).message).toMatch(
				/column 'b': every value is missing/,
			);
		});

		it("a categorical column with more categories than allowed", async () => {
			const error = await refusal("c\nx\ny\nz\n", { maxCategories: 2 });
			expect(error.message).toMatch(/more than 2 distinct values/);
		});

		it("an NDJSON line that is not an object, or a key the first record lacks", async () => {
			const notObject = await parseDataset('{"a":1}\n[1]\n', { format: "ndjson" }).catch(
				e => e,
			);
			expect((notObject as Error).message).toMatch(/line 2: expected a JSON object/);
			const badJson = await parseDataset('{"a":1}\n{"a":\n', { format: "ndjson" }).catch(
				e => e,
			);
			expect((badJson as Error).message).toMatch(/line 2: not valid JSON/);
			const extra = await parseDataset('{"a":1}\n{"a":2,"b":3}\n', {
				format: "ndjson",
			}).catch(e => e);
			expect((extra as Error).message).toMatch(/row 2 \(line 2\), column 'b'/);
		});

		it("without quoting what the file holds (bad JSON, a stray quote, a stray value)", async () => {
			for (const [text, format] of [
				['{"a":1}\n{"a": secret-words}\n', "ndjson"],
				['{"a":1}\n"secret-words"\n', "ndjson"],
				['a,b\n1,x"secret-words"\n', "csv"],
				['a,b\n1,"secret"words\n', "csv"],
			] as const) {
				const error = (await parseDataset(text, { format }).catch(e => e)) as Error;
				expect(error).toBeInstanceOf(InvalidInputError);
				expect(error.message).not.toContain("secret");
			}
		});

		it("an upload over the size limit with a 413, without reading the rest", async () => {
			let pulled = 0;
			async function* endless() {
				yield Buffer.from("a,b\n");
				for (;;) {
					pulled++;
					yield Buffer.from("1,2\n".repeat(256));
				}
			}
			const error = await parseDataset(endless(), { format: "csv", maxBytes: 10_000 }).catch(
				e => e,
			);
			expect(error).toBeInstanceOf(PayloadTooLargeError);
			expect((error as PayloadTooLargeError).code).toBe(413);
			expect(pulled).toBeLessThan(12);
		});
	});
});
