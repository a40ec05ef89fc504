import { InvalidInputError } from "../../../lib/errors";
import { toHalfBits } from "../../../lib/inference/fp16";
import type { Tensor } from "../../../lib/inference/tensor";
import { compilePrePipeline } from "../../../lib/pipelines/pre-pipeline";
import type { TensorSpec } from "../../../lib/model-spec/model-schema";
import type { PreStep } from "../../../lib/model-spec/version-spec";

const TWO: TensorSpec = { name: "x", datatype: "FP64", shape: [-1, 2] };

function matrix(rows: number[][], datatype: "FP64" | "FP32" = "FP64"): Tensor {
	const flat = rows.flat();
	return {
		name: "x",
		datatype,
		shape: [rows.length, rows[0].length],
		data: datatype === "FP64" ? Float64Array.from(flat) : Float32Array.from(flat),
	};
}

/** The output rows, as plain numbers. */
function rowsOf(tensor: Tensor): number[][] {
	const [rows, width] = tensor.shape;
	const data = Array.from(tensor.data as Float64Array);
	return Array.from({ length: rows }, (_, r) => data.slice(r * width, (r + 1) * width));
}

function refusal(run: () => unknown): InvalidInputError {
	try {
		run();
	} catch (error) {
		expect(error).toBeInstanceOf(InvalidInputError);
		expect((error as InvalidInputError).code).toBe(400);
		return error as InvalidInputError;
	}
	throw new Error("expected an InvalidInputError");
}

describe("compilePrePipeline", () => {
	describe("steps", () => {
		it.each<[string, PreStep, number[][], number[][]]>([
			[
				"standardize: (x - mean) / std per column",
				{ type: "standardize", mean: [2, 2], std: [1, 2] },
				[
					[1, 2],
					[3, 6],
				],
				[
					[-1, 0],
					[1, 2],
				],
			],
			[
				"minmax: (x - min) / (max - min) per column",
				{ type: "minmax", min: [0, 2], max: [4, 6] },
				[
					[1, 2],
					[3, 4],
				],
				[
					[0.25, 0],
					[0.75, 0.5],
				],
			],
			[
				"impute: NaN becomes the column's value",
				{ type: "impute", strategy: "mean", values: [5.8, 3] },
				[
					[NaN, 2],
					[1, NaN],
				],
				[
					[5.8, 2],
					[1, 3],
				],
			],
			[
				"clip: every column into [min, max]",
				{ type: "clip", min: -1, max: 1 },
				[
					[-10, 0.5],
					[10, -1],
				],
				[
					[-1, 0.5],
					[1, -1],
				],
			],
		])("%s", (_, step, input, expected) => {
			const pre = compilePrePipeline([step], TWO);
			expect(rowsOf(pre.apply(matrix(input)))).toEqual(expected);
		});

		it("one-hot: replaces a coded string feature by its categories, in the step's order, in place", () => {
			const spec: TensorSpec = {
				name: "x",
				datatype: "FP32",
				shape: [-1, 3],
				features: [
					{ name: "a" },
					{ name: "color", categories: ["red", "green", "blue"] },
					{ name: "b" },
				],
			};
			const pre = compilePrePipeline(
				[{ type: "one-hot", feature: 1, categories: ["blue", "red", "green"] }],
				spec,
			);
			expect(pre.outputWidth).toBe(5);
			// Codes: red = 0, green = 1, blue = 2.
			const out = pre.apply(
				matrix(
					[
						[5, 0, 7],
						[6, 2, 8],
					],
					"FP32",
				),
			);
			expect(out.datatype).toBe("FP32");
			expect(out.shape).toEqual([2, 5]);
			expect(rowsOf(out)).toEqual([
				[5, 0, 1, 0, 7],
				[6, 1, 0, 0, 8],
			]);
		});

		it("one-hot: matches numeric categories by value", () => {
			const spec: TensorSpec = {
				name: "x",
				datatype: "FP32",
				shape: [-1, 1],
				features: [{ name: "ratio", categories: [0.1, 0.2] }],
			};
			const pre = compilePrePipeline(
				[{ type: "one-hot", feature: 0, categories: [0.2, 0.1] }],
				spec,
			);
			// 0.1 stored as FP32 is not the double 0.1; it still matches.
			expect(rowsOf(pre.apply(matrix([[0.1], [0.2]], "FP32")))).toEqual([
				[0, 1],
				[1, 0],
			]);
		});

		it("runs the steps in order, later ones indexing the widened columns", () => {
			const pre = compilePrePipeline(
				[
					{ type: "impute", strategy: "constant", values: [0, 1] },
					{ type: "one-hot", feature: 1, categories: [1, 2] },
					{ type: "standardize", mean: [1, 0, 0], std: [2, 1, 1] },
					{ type: "clip", min: -0.25, max: 5 },
				],
				TWO,
			);
			expect(pre.steps).toEqual(["impute", "one-hot", "standardize", "clip"]);
			expect(
				rowsOf(
					pre.apply(
						matrix([
							[NaN, NaN],
							[3, 2],
							[0, 1],
						]),
					),
				),
			).toEqual([
				[-0.25, 1, 0],
				[1, 0, 1],
				[-0.25, 1, 0],
			]);
		});
	});

	describe("imputedColumns", () => {
		it("lists every column when impute runs first", () => {
			const pre = compilePrePipeline(
				[{ type: "impute", strategy: "mean", values: [1, 2] }],
				TWO,
			);
			expect(pre.imputedColumns).toEqual([0, 1]);
		});

		it("leaves out a column a one-hot consumed before the impute", () => {
			const pre = compilePrePipeline(
				[
					{ type: "one-hot", feature: 0, categories: [1, 2, 3] },
					{ type: "impute", strategy: "constant", values: [0, 0, 0, 9] },
				],
				TWO,
			);
			expect(pre.imputedColumns).toEqual([1]);
		});

		it("is empty without an impute step", () => {
			expect(
				compilePrePipeline([{ type: "clip", min: 0, max: 1 }], TWO).imputedColumns,
			).toEqual([]);
		});
	});

	describe("datatypes and widths", () => {
		it("returns the input itself when there are no steps", () => {
			const input = matrix([[1, 2]]);
			expect(compilePrePipeline([], TWO).apply(input)).toBe(input);
		});

		it("writes FP32 for an integer input, or the datatype asked for", () => {
			const ints: TensorSpec = { name: "x", datatype: "INT32", shape: [-1, 1] };
			const clip: PreStep[] = [{ type: "clip", min: 0, max: 1 }];
			const input: Tensor = {
				name: "x",
				datatype: "INT32",
				shape: [2, 1],
				data: Int32Array.of(-3, 4),
			};
			expect(compilePrePipeline(clip, ints).apply(input)).toEqual({
				name: "x",
				datatype: "FP32",
				shape: [2, 1],
				data: Float32Array.of(0, 1),
			});
			const half = compilePrePipeline(clip, ints, { outputDatatype: "FP16" }).apply(input);
			expect(half.data).toEqual(Uint16Array.of(toHalfBits(0), toHalfBits(1)));
		});

		it("takes the width from the steps when the schema leaves it open", () => {
			const open: TensorSpec = { name: "x", datatype: "FP64", shape: [-1, -1] };
			const pre = compilePrePipeline(
				[
					{ type: "one-hot", feature: 0, categories: [0, 1] },
					{ type: "standardize", mean: [0, 0, 0], std: [1, 1, 1] },
				],
				open,
			);
			expect(pre.inputWidth).toBe(2);
			expect(pre.outputWidth).toBe(3);
		});
	});

	describe("refuses with 400, naming the step", () => {
		it.each<[string, PreStep[], TensorSpec, string]>([
			[
				"a standardize with too few values",
				[{ type: "standardize", mean: [0], std: [1] }],
				TWO,
				"pipeline.pre[0] (standardize): mean has 1 values but the data has 2 columns at this step; expected one per column.",
			],
			[
				"a minmax that ignores the one-hot's new columns",
				[
					{ type: "one-hot", feature: 0, categories: [1, 2, 3] },
					{ type: "minmax", min: [0, 0], max: [1, 1] },
				],
				TWO,
				"pipeline.pre[1] (minmax): min has 2 values but the data has 4 columns at this step; expected one per column.",
			],
			[
				"an impute with too many values",
				[{ type: "impute", strategy: "constant", values: [0, 0, 0] }],
				TWO,
				"pipeline.pre[0] (impute): values has 3 values but the data has 2 columns at this step; expected one per column.",
			],
			[
				"a one-hot past the last column",
				[{ type: "one-hot", feature: 2, categories: [1] }],
				TWO,
				"pipeline.pre[0] (one-hot): feature 2 is past the data's 2 columns at this step; expected a column index below 2.",
			],
			[
				"a one-hot with string categories on a numeric column",
				[{ type: "one-hot", feature: 0, categories: ["a", "b"] }],
				TWO,
				"pipeline.pre[0] (one-hot): category 'a' is a string but column 0 carries numbers; give the schema feature string categories so requests may send them.",
			],
			[
				"a one-hot missing a category the schema allows",
				[{ type: "one-hot", feature: 0, categories: ["red"] }],
				{
					name: "x",
					datatype: "FP32",
					shape: [-1, 1],
					features: [{ name: "color", categories: ["red", "green"] }],
				},
				"pipeline.pre[0] (one-hot): feature 'color' may be 'green' but the step has no column for it; expected its categories to cover the schema's ('red', 'green').",
			],
			[
				"steps on an input that is not [rows, columns]",
				[{ type: "clip", min: 0, max: 1 }],
				{ name: "img", datatype: "UINT8", shape: [-1, 28, 28] },
				"pipeline.pre[0] (clip): the first input 'img' is UINT8 [-1, 28, 28]; expected a numeric input shaped [rows, columns].",
			],
		])("at compile time: %s", (_, steps, spec, message) => {
			expect(refusal(() => compilePrePipeline(steps, spec)).message).toBe(message);
		});

		it("at the request, when only the data tells the width", () => {
			const pre = compilePrePipeline(
				[
					{ type: "clip", min: 0, max: 1 },
					{ type: "standardize", mean: [0, 0], std: [1, 1] },
				],
				{ name: "x", datatype: "FP64", shape: [-1, -1] },
			);
			expect(rowsOf(pre.apply(matrix([[0.5, 2]])))).toEqual([[0.5, 1]]);
			expect(refusal(() => pre.apply(matrix([[1, 2, 3]]))).message).toBe(
				"pipeline.pre[1] (standardize): mean has 2 values but the data has 3 columns at this step; expected one per column.",
			);
		});

		it("at the request, for a value the one-hot has no column for", () => {
			const pre = compilePrePipeline(
				[{ type: "one-hot", feature: 1, categories: [2, 4] }],
				TWO,
			);
			expect(
				refusal(() =>
					pre.apply(
						matrix([
							[0, 2],
							[0, 3],
						]),
					),
				).message,
			).toBe(
				"pipeline.pre[0] (one-hot): row 1 column 1: got 3, not a category; expected one of 2, 4.",
			);
		});
	});
});
