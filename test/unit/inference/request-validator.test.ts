import { InvalidInputError, RequestTooLargeError } from "../../../lib/errors";
import { toHalfBits } from "../../../lib/inference/fp16";
import {
	compileRequestValidator,
	type RequestValidator,
} from "../../../lib/inference/request-validator";
import type { OipDatatype } from "../../../lib/model-spec/model-schema";
import { SCHEMA, expectRefused, refusal } from "./validator-fixtures";

const EXPECTED_INPUTS = "'x' FP32 [-1, 4], 'ids' INT64 [-1, 2], 'mask' BOOL [-1]";

type Body = {
	inputs: { name: string; shape: number[]; datatype: string; data: unknown[] }[];
	[key: string]: unknown;
};

/** A valid request for SCHEMA, two rows. */
function body(): Body {
	return {
		id: "r1",
		inputs: [
			{
				name: "x",
				shape: [2, 4],
				datatype: "FP32",
				data: [
					[5.1, 3.5, 0, 0.2],
					[6.2, 2.9, 2, 1.8],
				],
			},
			{ name: "ids", shape: [2, 2], datatype: "INT64", data: [1, "9007199254740993", -3, 4] },
			{ name: "mask", shape: [2], datatype: "BOOL", data: [true, false] },
		],
	};
}

function changed(change: (b: Body) => void): Body {
	const b = body();
	change(b);
	return b;
}

/** A validator for one input without features. */
function single(datatype: OipDatatype, shape: number[] = [-1]): RequestValidator {
	return compileRequestValidator({
		inputs: [{ name: "t", datatype, shape }],
		outputs: [{ name: "y", datatype: "FP32", shape: [-1] }],
	});
}

const one = (datatype: string, data: unknown[], shape = [data.length]) => ({
	inputs: [{ name: "t", datatype, shape, data }],
});

describe("compileRequestValidator", () => {
	const validate = compileRequestValidator(SCHEMA);

	describe("decoding", () => {
		it("turns inputs into typed tensors in the schema's order", () => {
			const b = body();
			b.inputs.reverse();
			const decoded = validate(b);
			expect(decoded.id).toBe("r1");
			expect(decoded.rows).toBe(2);
			expect(decoded.inputs.map(t => t.name)).toEqual(["x", "ids", "mask"]);
			const [x, ids, mask] = decoded.inputs;
			expect(x).toEqual({
				name: "x",
				datatype: "FP32",
				shape: [2, 4],
				data: Float32Array.of(5.1, 3.5, 0, 0.2, 6.2, 2.9, 2, 1.8),
			});
			expect(ids.data).toEqual(BigInt64Array.of(1n, 9007199254740993n, -3n, 4n));
			expect(mask.data).toEqual(Uint8Array.of(1, 0));
			expect(decoded.bytes).toBe(8 * 4 + 4 * 8 + 2);
		});

		it("reads nested and flat data the same, row-major", () => {
			const flat = changed(b => (b.inputs[0].data = [5.1, 3.5, 0, 0.2, 6.2, 2.9, 2, 1.8]));
			expect(validate(flat).inputs[0]).toEqual(validate(body()).inputs[0]);
			const rank3 = single("UINT8", [-1, 2, 2]);
			const nested = rank3(
				one(
					"UINT8",
					[
						[
							[1, 2],
							[3, 4],
						],
					],
					[1, 2, 2],
				),
			);
			expect(nested.inputs[0].data).toEqual(Uint8Array.of(1, 2, 3, 4));
			expect(rank3(one("UINT8", [1, 2, 3, 4], [1, 2, 2])).inputs[0].data).toEqual(
				Uint8Array.of(1, 2, 3, 4),
			);
		});

		it.each<[OipDatatype, unknown[], unknown]>([
			["BOOL", [true, false], Uint8Array.of(1, 0)],
			["UINT8", [0, 255], Uint8Array.of(0, 255)],
			["UINT16", [65535], Uint16Array.of(65535)],
			["UINT32", [4294967295], Uint32Array.of(4294967295)],
			["INT8", [-128, 127], Int8Array.of(-128, 127)],
			["INT16", [-32768], Int16Array.of(-32768)],
			["INT32", [-2147483648], Int32Array.of(-2147483648)],
			[
				"INT64",
				[-5, "-9223372036854775808", "9223372036854775807"],
				BigInt64Array.of(-5n, -(2n ** 63n), 2n ** 63n - 1n),
			],
			["UINT64", [7, "18446744073709551615"], BigUint64Array.of(7n, 2n ** 64n - 1n)],
			["FP16", [1.5, -0.25, 0.1], Uint16Array.of(0x3e00, 0xb400, toHalfBits(0.1))],
			["FP32", [0.5, -1e38], Float32Array.of(0.5, -1e38)],
			["FP64", [0.1, 1e300], Float64Array.of(0.1, 1e300)],
			["BYTES", ["a", "été"], ["a", "été"]],
		])("decodes %s", (datatype, data, expected) => {
			const decoded = single(datatype)(one(datatype, data));
			expect(decoded.inputs[0].data).toEqual(expected);
		});

		it("counts BYTES in UTF-8 bytes", () => {
			expect(single("BYTES")(one("BYTES", ["a", "été"])).bytes).toBe(1 + 5);
		});

		it("passes the request id, parameters and the outputs asked for", () => {
			const decoded = validate({
				...body(),
				parameters: { trace: true },
				outputs: [{ name: "probabilities" }],
			});
			expect(decoded.parameters).toEqual({ trace: true });
			expect(decoded.outputs).toEqual(["probabilities"]);
		});

		it("takes null for the optional id, parameters and outputs as left out", () => {
			const decoded = validate({ ...body(), id: null, parameters: null, outputs: null });
			expect(decoded.id).toBeUndefined();
			expect(decoded.parameters).toBeUndefined();
			expect(decoded.outputs).toBeUndefined();
		});

		it.each<[string, (b: Body) => void]>([
			["inputs: null", b => ((b as Record<string, unknown>).inputs = null)],
			["instances: null with inputs", b => (b.instances = null)],
			["a null input", b => ((b.inputs as unknown[])[0] = null)],
			["a null name", b => ((b.inputs[0] as Record<string, unknown>).name = null)],
			["a null shape", b => ((b.inputs[0] as Record<string, unknown>).shape = null)],
			["a null datatype", b => ((b.inputs[0] as Record<string, unknown>).datatype = null)],
			["null data", b => ((b.inputs[0] as Record<string, unknown>).data = null)],
			["a null dimension", b => ((b.inputs[0].shape as unknown[])[0] = null)],
			["a null output", b => (b.outputs = [null])],
			["an output with a null name", b => (b.outputs = [{ name: null }])],
			[
				"null input parameters",
				b => ((b.inputs[0] as Record<string, unknown>).parameters = null),
			],
		])("answers %s with a result or a 400, never a TypeError", (_, change) => {
			let outcome: unknown;
			try {
				outcome = validate(changed(change));
			} catch (err) {
				outcome = err;
			}
			if (outcome instanceof Error) expect(outcome).toBeInstanceOf(InvalidInputError);
			else expect(outcome).toHaveProperty("inputs");
		});

		it("accepts outputs the pipeline adds when told their names", () => {
			const withAdded = compileRequestValidator(SCHEMA, {}, { addedOutputs: ["confidence"] });
			expect(withAdded({ ...body(), outputs: [{ name: "confidence" }] }).outputs).toEqual([
				"confidence",
			]);
		});
	});

	describe("missing values", () => {
		const imputing = compileRequestValidator(SCHEMA, {}, { imputedColumns: [1] });

		it("accepts null or NaN in a column the pipeline imputes, as NaN", () => {
			const decoded = imputing(
				changed(b => (b.inputs[0].data = [5.1, null, 0, 0.2, 6.2, NaN, 2, 1.8])),
			);
			const data = decoded.inputs[0].data as Float32Array;
			expect(data[1]).toBeNaN();
			expect(data[5]).toBeNaN();
		});

		it("refuses them in a column it does not impute, naming row and feature", () => {
			expectRefused(
				imputing,
				changed(b => (b.inputs[0].data = [5.1, 3.5, 0, 0.2, null, 2.9, 2, 1.8])),
				InvalidInputError,
				"inputs[0] 'x' row 1 feature 'sepal_length' (index 0): missing value (null or NaN), which this column does not allow: the version's pipeline does not impute it; expected a number in [0, 10].",
			);
		});
	});

	describe("refuses with 400", () => {
		it.each<[string, unknown, string]>([
			[
				"an unknown input name",
				changed(b => (b.inputs[2].name = "maks")),
				`inputs[2] 'maks': no such input; expected inputs ${EXPECTED_INPUTS}.`,
			],
			[
				"a missing input",
				changed(b => b.inputs.pop()),
				`inputs: missing 'mask'; expected inputs ${EXPECTED_INPUTS}.`,
			],
			[
				"an input given twice",
				changed(b => b.inputs.push(b.inputs[2])),
				"inputs[3] 'mask': given twice; expected each input once.",
			],
			[
				"a wrong datatype",
				changed(b => (b.inputs[0].datatype = "FP64")),
				"inputs[0] 'x': datatype FP64 does not match the schema; expected FP32.",
			],
			[
				"a shape with the wrong feature count",
				changed(b => (b.inputs[0].shape = [1, 8])),
				"inputs[0] 'x': shape [1, 8] does not match the schema; expected [-1, 4] (-1 = any size).",
			],
			[
				"a shape of the wrong rank",
				changed(b => (b.inputs[2].shape = [2, 1])),
				"inputs[2] 'mask': shape [2, 1] does not match the schema; expected [-1] (-1 = any size).",
			],
			[
				"a negative dimension",
				changed(b => (b.inputs[0].shape = [-1, 4])),
				"Invalid inference request: inputs[0].shape[0] is -1; expected an integer ≥ 0.",
			],
			[
				"flat data shorter than the shape",
				changed(b => (b.inputs[1].data = [1, 2, 3])),
				"inputs[1] 'ids': data holds 3 values but shape [2, 2] needs 4; expected flat row-major data of 4 values, or arrays nested as [2][2].",
			],
			[
				"nested data with a short row",
				changed(b => (b.inputs[0].data = [[5.1, 3.5, 0, 0.2], [6.2]])),
				"inputs[0] 'x': data[1] holds 1 values but shape [2, 4] needs 4 at this level; expected flat row-major data of 8 values, or arrays nested as [2][4].",
			],
			[
				"nested data with a value where a row belongs",
				changed(b => (b.inputs[1].data = [[1, 2], 3])),
				"inputs[1] 'ids': data[1] is a value where shape [2, 2] needs an array of 2; expected flat row-major data of 4 values, or arrays nested as [2][2].",
			],
			[
				"inputs with different batch sizes",
				changed(b => {
					b.inputs[2].shape = [3];
					b.inputs[2].data = [true, true, false];
				}),
				"inputs[2] 'mask': batch size 3 differs from inputs[0] 'x''s 2; expected every input to hold the same rows.",
			],
			[
				"a string in a float tensor",
				changed(b => (b.inputs[0].data = [5.1, "3.5", 0, 0.2, 6.2, 2.9, 2, 1.8])),
				"inputs[0] 'x' row 0 feature 'sepal_width' (index 1): got \"3.5\"; expected a finite number within ±3.4028235e38 (FP32).",
			],
			[
				"a missing value where nothing imputes",
				changed(b => (b.inputs[0].data = [5.1, 3.5, 0, 0.2, 6.2, 2.9, 2, null])),
				"inputs[0] 'x' row 1 feature 'petal_width' (index 3): missing value (null or NaN), which this column does not allow: the version's pipeline does not impute it; expected a number in [0.1, 2.5].",
			],
			[
				"an infinity",
				changed(b => (b.inputs[0].data = [5.1, -Infinity, 0, 0.2, 6.2, 2.9, 2, 1.8])),
				"inputs[0] 'x' row 0 feature 'sepal_width' (index 1): got -Infinity; expected a finite number within ±3.4028235e38 (FP32).",
			],
			[
				"a number past the FP32 range",
				changed(b => (b.inputs[0].data = [5.1, 1e39, 0, 0.2, 6.2, 2.9, 2, 1.8])),
				"inputs[0] 'x' row 0 feature 'sepal_width' (index 1): got 1e+39; expected a finite number within ±3.4028235e38 (FP32).",
			],
			[
				"a value above a feature's max",
				changed(b => (b.inputs[0].data = [5.1, 3.5, 0, 0.2, 6.2, 2.9, 2, 2.6])),
				"inputs[0] 'x' row 1 feature 'petal_width' (index 3): got 2.6, above the maximum 2.5; expected a number in [0.1, 2.5].",
			],
			[
				"a value below a feature's min",
				changed(b => (b.inputs[0].data = [-0.5, 3.5, 0, 0.2, 6.2, 2.9, 2, 1.8])),
				"inputs[0] 'x' row 0 feature 'sepal_length' (index 0): got -0.5, below the minimum 0; expected a number in [0, 10].",
			],
			[
				"an unknown category code",
				changed(b => (b.inputs[0].data = [5.1, 3.5, 3, 0.2, 6.2, 2.9, 2, 1.8])),
				"inputs[0] 'x' row 0 feature 'color' (index 2): got 3, not a known category; expected a category code, an integer in [0, 2] standing for 'red', 'green', 'blue' (send the categories themselves with instances).",
			],
			[
				"an INT64 that is not an integer",
				changed(b => (b.inputs[1].data = [1, 2.5, 3, 4])),
				"inputs[1] 'ids' row 0 column 1: got 2.5; expected an integer in [-9223372036854775808, 9223372036854775807] (INT64), as a number or, beyond ±2^53, a string of digits.",
			],
			[
				"an INT64 string out of range",
				changed(b => (b.inputs[1].data = [1, 2, "9223372036854775808", 4])),
				"inputs[1] 'ids' row 1 column 0: got \"9223372036854775808\"; expected an integer in [-9223372036854775808, 9223372036854775807] (INT64), as a number or, beyond ±2^53, a string of digits.",
			],
			[
				"a number for a BOOL",
				changed(b => (b.inputs[2].data = [true, 0])),
				"inputs[2] 'mask' row 1: got 0; expected true or false (BOOL).",
			],
			[
				"an unsafe integer sent as a number",
				changed(b => (b.inputs[1].data = [1, 2 ** 60, 3, 4])),
				"inputs[1] 'ids' row 0 column 1: got 1152921504606847000; expected an integer in [-9223372036854775808, 9223372036854775807] (INT64), as a number or, beyond ±2^53, a string of digits.",
			],
			[
				"both inputs and instances",
				{ ...body(), instances: [[1, 2, 3, 4]] },
				"Invalid inference request: both inputs and instances given; expected one of them.",
			],
			[
				"neither inputs nor instances",
				{ id: "r1" },
				`Invalid inference request: no inputs; expected inputs (Open Inference Protocol tensors: ${EXPECTED_INPUTS}) or instances (rows of features).`,
			],
			[
				"an unknown output",
				{ ...body(), outputs: [{ name: "logits" }] },
				"Invalid inference request: outputs[0].name is \"logits\"; expected one of 'probabilities'.",
			],
			[
				"a body that is not an object",
				[1, 2],
				"Invalid inference request: the request body must be an object.",
			],
			[
				"data that is not an array",
				changed(b => (b.inputs[0].data = "5.1,3.5" as unknown as unknown[])),
				"Invalid inference request: inputs[0].data must be an array.",
			],
		])("%s", (_, request, message) => {
			expectRefused(validate, request, InvalidInputError, message);
		});

		it.each<[OipDatatype, unknown, string]>([
			["INT8", 128, "got 128; expected an integer in [-128, 127] (INT8)"],
			["UINT8", -1, "got -1; expected an integer in [0, 255] (UINT8)"],
			["UINT16", 65536, "got 65536; expected an integer in [0, 65535] (UINT16)"],
			["INT32", 1.5, "got 1.5; expected an integer in [-2147483648, 2147483647] (INT32)"],
			[
				"UINT64",
				"-1",
				'got "-1"; expected an integer in [0, 18446744073709551615] (UINT64), as a number or, beyond ±2^53, a string of digits',
			],
			["FP16", 70000, "got 70000; expected a finite number within ±65504 (FP16)"],
			["FP64", true, "got true; expected a finite number (FP64)"],
			["BYTES", 5, "got 5; expected a string (BYTES)"],
		])("%s out of its range or type", (datatype, value, problem) => {
			expectRefused(
				single(datatype),
				one(datatype, [value]),
				InvalidInputError,
				`inputs[0] 't' row 0: ${problem}.`,
			);
		});

		it("a missing value in a float input without features", () => {
			expectRefused(
				single("FP32"),
				one("FP32", [1, null]),
				InvalidInputError,
				"inputs[0] 't' row 1: missing value (null or NaN), which this input does not allow: the version's pipeline does not impute it; expected a finite number.",
			);
		});

		it("names the element of a tensor of rank 3", () => {
			expectRefused(
				single("UINT8", [-1, 2, 2]),
				one("UINT8", [1, 2, 3, 4, 5, 6, 7, 256], [2, 2, 2]),
				InvalidInputError,
				"inputs[0] 't' element [1, 1] column 1: got 256; expected an integer in [0, 255] (UINT8).",
			);
		});

		it("names string categories of a BYTES feature", () => {
			const validateBytes = compileRequestValidator({
				inputs: [
					{
						name: "s",
						datatype: "BYTES",
						shape: [-1, 1],
						features: [{ name: "city", categories: ["Oslo", "Lima"] }],
					},
				],
				outputs: [{ name: "y", datatype: "FP32", shape: [-1] }],
			});
			expectRefused(
				validateBytes,
				{
					inputs: [
						{ name: "s", datatype: "BYTES", shape: [2, 1], data: ["Oslo", "Rome"] },
					],
				},
				InvalidInputError,
				"inputs[0] 's' row 1 feature 'city' (index 0): got \"Rome\", not a known category; expected one of 'Oslo', 'Lima'.",
			);
		});
	});

	describe("refuses with 413", () => {
		const limited = compileRequestValidator(SCHEMA, {
			maxRowsPerRequest: 2,
			maxRequestBytes: 100,
		});

		it("a request over maxRowsPerRequest", () => {
			const b = changed(b => {
				b.inputs[0] = { ...b.inputs[0], shape: [3, 4], data: new Array(12).fill(1) };
				b.inputs[1] = { ...b.inputs[1], shape: [3, 2], data: new Array(6).fill(1) };
				b.inputs[2] = { ...b.inputs[2], shape: [3], data: [true, true, true] };
			});
			expectRefused(
				limited,
				b,
				RequestTooLargeError,
				"inputs[0] 'x': 3 rows, over the limit of 2 rows per request (maxRowsPerRequest); send fewer rows per request.",
			);
		});

		it("typed data over maxRequestBytes, counted before decoding", () => {
			const tight = compileRequestValidator(SCHEMA, { maxRequestBytes: 65 });
			expectRefused(
				tight,
				body(),
				RequestTooLargeError,
				"inputs (all tensors): 66 bytes, over the limit of 65 bytes per request (maxRequestBytes); send fewer rows per request.",
			);
			expect(() =>
				compileRequestValidator(SCHEMA, { maxRequestBytes: 66 })(body()),
			).not.toThrow();
		});

		it("BYTES data over maxRequestBytes, in UTF-8 bytes", () => {
			const bytes = compileRequestValidator(
				{
					inputs: [{ name: "t", datatype: "BYTES", shape: [-1] }],
					outputs: [{ name: "y", datatype: "FP32", shape: [-1] }],
				},
				{ maxRequestBytes: 4 },
			);
			expectRefused(
				bytes,
				one("BYTES", ["ab", "été"]),
				RequestTooLargeError,
				"inputs (all tensors): 7 bytes, over the limit of 4 bytes per request (maxRequestBytes); send fewer rows per request.",
			);
		});

		it("carries the limit, the size and the setting as data", () => {
			const error = refusal(
				compileRequestValidator(SCHEMA, { maxRowsPerRequest: 1 }),
				body(),
			);
			expect((error as RequestTooLargeError).data).toEqual({
				limit: 1,
				actual: 2,
				setting: "maxRowsPerRequest",
			});
		});
	});

	it("refuses limits that are not positive whole numbers", () => {
		expect(() => compileRequestValidator(SCHEMA, { maxRowsPerRequest: 0 })).toThrow(
			/inference.maxRowsPerRequest: 0 is not a positive whole number/,
		);
	});
});
