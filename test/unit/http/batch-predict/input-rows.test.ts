import { InvalidInputError } from "../../../../lib/errors";
import {
	batchFormat,
	cellReader,
	csvColumns,
	ndjsonRows,
	tabularInput,
	type BatchRow,
	type TabularInput,
} from "../../../../lib/http/batch-predict/input-rows";
import type { ModelSchema } from "../../../../lib/model-spec/model-schema";

async function* chunks(...parts: string[]): AsyncGenerator<string> {
	yield* parts;
}

async function all(rows: AsyncIterable<BatchRow>): Promise<BatchRow[]> {
	const out: BatchRow[] = [];
	for await (const row of rows) out.push(row);
	return out;
}

const IRIS: TabularInput = {
	name: "input",
	datatype: "FP32",
	width: 3,
	features: [{ name: "a" }, { name: "b" }, { name: "colour", categories: ["red", "blue"] }],
};

describe("batchFormat", () => {
	it("reads the format from ?format=, else from the Content-Type", () => {
		expect(batchFormat("ndjson", "text/csv")).toBe("ndjson");
		expect(batchFormat(undefined, "text/csv; charset=utf-8")).toBe("csv");
		expect(batchFormat(undefined, "application/x-ndjson")).toBe("ndjson");
		expect(() => batchFormat(undefined, "text/plain")).toThrow(/'text\/plain' is neither/);
		expect(() => batchFormat(undefined, undefined)).toThrow(InvalidInputError);
	});

	it("refuses application/json, whose bodies the gateway parses whole", () => {
		expect(() => batchFormat("ndjson", "application/json")).toThrow(/application\/x-ndjson/);
	});
});

describe("tabularInput", () => {
	it("takes a version's one [rows, features] input, with its features or width", () => {
		const schema: ModelSchema = {
			inputs: [{ name: "x", datatype: "FP32", shape: [-1, 4] }],
			outputs: [],
		};
		expect(tabularInput(schema, "m@1.0.0")).toEqual({
			name: "x",
			datatype: "FP32",
			width: 4,
			features: null,
		});
	});

	it("refuses a version whose input is not one tabular tensor", () => {
		const image: ModelSchema = {
			inputs: [{ name: "image", datatype: "FP32", shape: [-1, 28, 28] }],
			outputs: [],
		};
		expect(() => tabularInput(image, "cnn@1.0.0")).toThrow(
			/cnn@1\.0\.0 takes 'image' \[-1, 28, 28\]/,
		);
	});
});

describe("cellReader", () => {
	it("reads numbers, keeps categories and big integers as text, and makes empty cells missing", () => {
		const fp32 = cellReader("FP32", undefined);
		expect([fp32("1.5"), fp32(" -2e3 "), fp32(""), fp32("abc")]).toEqual([
			1.5,
			-2000,
			null,
			"abc",
		]);
		const category = cellReader("FP32", { name: "c", categories: ["1", "two"] });
		expect([category("1"), category("two"), category("3")]).toEqual(["1", "two", 3]);
		expect(cellReader("INT64", undefined)("9007199254740993")).toBe("9007199254740993");
		expect(cellReader("BYTES", undefined)("007")).toBe("007");
		const bool = cellReader("BOOL", undefined);
		expect([bool("true"), bool("0"), bool("FALSE"), bool("maybe")]).toEqual([
			true,
			false,
			false,
			"maybe",
		]);
	});
});

describe("csvColumns", () => {
	it("places each column at its feature, by name, in any order", () => {
		expect(csvColumns(["colour", " a "], IRIS)).toEqual([2, 0]);
	});

	it("refuses a column that is no feature, a repeated one, or a width the input does not take", () => {
		expect(() => csvColumns(["a", "size"], IRIS)).toThrow(
			/'size' is not a feature of input 'input' \(a, b, colour\)/,
		);
		expect(() => csvColumns(["a", "a"], IRIS)).toThrow(/twice/);
		const fixed: TabularInput = { name: "x", datatype: "FP32", width: 4, features: null };
		expect(() => csvColumns(["p", "q"], fixed)).toThrow(/2 columns.*4 values/);
		expect(csvColumns(["p", "q", "r", "s"], fixed)).toEqual([0, 1, 2, 3]);
	});
});

describe("ndjsonRows", () => {
	it("takes each non-blank line as an instance, and a line that is not one as an error row", async () => {
		expect(await all(ndjsonRows(chunks('{"a":1}\n\n[1,', '2]\r\nnope\n"text"\n[3]')))).toEqual([
			{ row: 0, instance: { a: 1 } },
			{ row: 1, instance: [1, 2] },
			{ row: 2, error: expect.stringMatching(/^Row 2 is not valid JSON/) },
			{ row: 3, error: expect.stringMatching(/^Row 3 must be an object .* or an array/) },
			{ row: 4, instance: [3] },
		]);
	});
});
