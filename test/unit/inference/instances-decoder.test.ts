import { InvalidInputError, RequestTooLargeError } from "../../../lib/errors";
import { compileRequestValidator } from "../../../lib/inference/request-validator";
import type { ModelSchema } from "../../../lib/model-spec/model-schema";
import { expectRefused } from "./validator-fixtures";

const SCHEMA: ModelSchema = {
	inputs: [
		{
			name: "x",
			datatype: "FP32",
			shape: [-1, 4],
			features: [
				{ name: "sepal_length", min: 0, max: 10 },
				{ name: "sepal_width" },
				{ name: "color", categories: ["red", "green", "blue"] },
				{ name: "doors", categories: [2, 4] },
			],
		},
	],
	outputs: [{ name: "y", datatype: "FP32", shape: [-1, 2] }],
};

const OUTPUTS = [{ name: "y", datatype: "FP32" as const, shape: [-1] }];

const ROW_FORM =
	"an object keyed by feature name (sepal_length, sepal_width, color, doors) or an array of their 4 values in that order";

describe("instances", () => {
	const validate = compileRequestValidator(SCHEMA);

	it("maps objects by feature name into one [rows, features] tensor, categories as codes", () => {
		const decoded = validate({
			instances: [
				{ sepal_length: 5.1, sepal_width: 3.5, color: "green", doors: 4 },
				{ doors: 2, color: "red", sepal_width: 3, sepal_length: 4.9 },
			],
		});
		expect(decoded.rows).toBe(2);
		expect(decoded.bytes).toBe(32);
		expect(decoded.inputs).toEqual([
			{
				name: "x",
				datatype: "FP32",
				shape: [2, 4],
				data: Float32Array.of(5.1, 3.5, 1, 4, 4.9, 3, 0, 2),
			},
		]);
	});

	it("takes arrays in the schema's feature order", () => {
		const decoded = validate({ instances: [[5.1, 3.5, "blue", 2]] });
		expect(decoded.inputs[0].data).toEqual(Float32Array.of(5.1, 3.5, 2, 2));
	});

	it("reads an absent key as a missing value where the pipeline imputes", () => {
		const imputing = compileRequestValidator(SCHEMA, {}, { imputedColumns: [1] });
		const decoded = imputing({
			instances: [{ sepal_length: 5.1, color: "red", doors: 2 }, [5, null, "red", 4]],
		});
		const data = decoded.inputs[0].data as Float32Array;
		expect(data[1]).toBeNaN();
		expect(data[5]).toBeNaN();
	});

	it("takes the width from the first row when the schema leaves it open", () => {
		const open = compileRequestValidator({
			inputs: [{ name: "v", datatype: "FP64", shape: [-1, -1] }],
			outputs: OUTPUTS,
		});
		expect(open({ instances: [[1, 2, 3]] }).inputs[0].shape).toEqual([1, 3]);
		expectRefused(
			open,
			{ instances: [[1, 2, 3], [4]] },
			InvalidInputError,
			"instances[1] (input 'v'): has 1 values; expected an array of 3 values.",
		);
	});

	describe("refuses with 400", () => {
		it.each<[string, unknown[], string]>([
			[
				"an unknown feature",
				[{ sepal_length: 5.1, sepal_width: 3.5, colour: "red", doors: 2 }],
				`instances[0] (input 'x'): unknown feature 'colour'; expected ${ROW_FORM}.`,
			],
			[
				"an array of the wrong length",
				[
					[5.1, 3.5, "red", 2],
					[5.1, 3.5, "red"],
				],
				`instances[1] (input 'x'): has 3 values; expected ${ROW_FORM}.`,
			],
			[
				"a row that is neither object nor array",
				[5.1],
				`instances[0] (input 'x'): got 5.1; expected ${ROW_FORM}.`,
			],
			[
				"an unknown string category",
				[{ sepal_length: 5.1, sepal_width: 3.5, color: "purple", doors: 2 }],
				"instances[0] (input 'x') feature 'color' (index 2): got \"purple\", not a known category; expected one of 'red', 'green', 'blue'.",
			],
			[
				"a category code instead of the category",
				[[5.1, 3.5, 1, 2]],
				"instances[0] (input 'x') feature 'color' (index 2): got 1, not a known category; expected one of 'red', 'green', 'blue'.",
			],
			[
				"an unknown numeric category",
				[
					[5.1, 3.5, "red", 2],
					[5.1, 3.5, "red", 3],
				],
				"instances[1] (input 'x') feature 'doors' (index 3): got 3, not a known category; expected one of 2, 4.",
			],
			[
				"a value above a feature's max",
				[{ sepal_length: 11, sepal_width: 3.5, color: "red", doors: 2 }],
				"instances[0] (input 'x') feature 'sepal_length' (index 0): got 11, above the maximum 10; expected a number in [0, 10].",
			],
			[
				"a missing feature where nothing imputes",
				[{ sepal_length: 5.1, color: "red", doors: 2 }],
				"instances[0] (input 'x') feature 'sepal_width' (index 1): missing value (absent, null or NaN), which this column does not allow: the version's pipeline does not impute it; expected a finite number.",
			],
			[
				"a string for a number",
				[["5.1", 3.5, "red", 2]],
				"instances[0] (input 'x') feature 'sepal_length' (index 0): got \"5.1\"; expected a finite number within ±3.4028235e38 (FP32).",
			],
		])("%s", (_, instances, message) => {
			expectRefused(validate, { instances }, InvalidInputError, message);
		});

		it("objects when the schema names no features", () => {
			const unnamed = compileRequestValidator({
				inputs: [{ name: "v", datatype: "FP32", shape: [-1, 2] }],
				outputs: OUTPUTS,
			});
			expectRefused(
				unnamed,
				{ instances: [{ a: 1, b: 2 }] },
				InvalidInputError,
				'instances[0] (input \'v\'): got {"a":1,"b":2}; expected an array of 2 values (objects need the schema to name its features).',
			);
		});

		it("a version with more than one input", () => {
			const two = compileRequestValidator({
				inputs: [
					{ name: "a", datatype: "FP32", shape: [-1, 2] },
					{ name: "b", datatype: "FP32", shape: [-1, 2] },
				],
				outputs: OUTPUTS,
			});
			expectRefused(
				two,
				{ instances: [[1, 2]] },
				InvalidInputError,
				"instances: instances fill one tabular input but this version takes 2 inputs ('a', 'b'); send the tensors as inputs instead.",
			);
		});

		it("an input that is not [rows, features]", () => {
			const image = compileRequestValidator({
				inputs: [{ name: "img", datatype: "UINT8", shape: [-1, 28, 28] }],
				outputs: OUTPUTS,
			});
			expectRefused(
				image,
				{ instances: [[1]] },
				InvalidInputError,
				"instances: instances fill an input shaped [rows, features] but 'img' is shaped [-1, 28, 28]; send the tensors as inputs instead.",
			);
		});
	});

	describe("refuses with 413", () => {
		it("more rows than maxRowsPerRequest", () => {
			expectRefused(
				compileRequestValidator(SCHEMA, { maxRowsPerRequest: 1 }),
				{
					instances: [
						[1, 2, "red", 2],
						[1, 2, "red", 2],
					],
				},
				RequestTooLargeError,
				"instances: 2 rows, over the limit of 1 rows per request (maxRowsPerRequest); send fewer rows per request.",
			);
		});

		it("more typed bytes than maxRequestBytes", () => {
			expectRefused(
				compileRequestValidator(SCHEMA, { maxRequestBytes: 31 }),
				{
					instances: [
						[1, 2, "red", 2],
						[1, 2, "red", 2],
					],
				},
				RequestTooLargeError,
				"instances (input 'x'): 32 bytes, over the limit of 31 bytes per request (maxRequestBytes); send fewer rows per request.",
			);
		});
	});
});
