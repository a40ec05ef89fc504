import { InvalidInputError, RequestTooLargeError } from "../../../lib/errors";
import { toHalfBits } from "../../../lib/inference/fp16";
import {
	compileRequestValidator,
	type RequestValidator,
} from "../../../lib/inference/request-validator";
import type { OipDatatype } from "../../../lib/model-spec/model-schema";
import { SCHEMA, expectRefused } from "./validator-fixtures";

const OUTPUTS = [{ name: "y", datatype: "FP32" as const, shape: [-1] }];

const X = [5.1, 3.5, 0, 0.2, 6.2, 2.9, 2, 1.8];

interface Input {
	name: string;
	shape: number[];
	datatype: string;
	data: unknown;
}

function jsonBody(): { inputs: Input[] } {
	return {
		inputs: [
			{ name: "x", shape: [2, 4], datatype: "FP32", data: X },
			{ name: "ids", shape: [2, 2], datatype: "INT64", data: [1, "9007199254740993", -3, 4] },
			{ name: "mask", shape: [2], datatype: "BOOL", data: [true, false] },
		],
	};
}

/** The same request as jsonBody, every input a typed array. */
function typedBody(x: unknown = Float32Array.from(X)): { inputs: Input[] } {
	return {
		inputs: [
			{ name: "x", shape: [2, 4], datatype: "FP32", data: x },
			{
				name: "ids",
				shape: [2, 2],
				datatype: "INT64",
				data: BigInt64Array.of(1n, 9007199254740993n, -3n, 4n),
			},
			{ name: "mask", shape: [2], datatype: "BOOL", data: Uint8Array.of(1, 0) },
		],
	};
}

/** typedBody with x's values changed. */
function withX(change: (x: Float32Array) => void): { inputs: Input[] } {
	const x = Float32Array.from(X);
	change(x);
	return typedBody(x);
}

function single(datatype: OipDatatype, shape: number[] = [-1]): RequestValidator {
	return compileRequestValidator({ inputs: [{ name: "t", datatype, shape }], outputs: OUTPUTS });
}

const one = (datatype: string, data: unknown, shape = [(data as ArrayLike<unknown>).length]) => ({
	inputs: [{ name: "t", datatype, shape, data }],
});

describe("typed-array tensor data", () => {
	const validate = compileRequestValidator(SCHEMA);

	describe("taken as it is", () => {
		it("decodes to the same tensors as the JSON form", () => {
			const fromJson = validate(jsonBody());
			const fromTyped = validate(typedBody());
			expect(fromTyped).toEqual(fromJson);
			expect(fromTyped.bytes).toBe(8 * 4 + 4 * 8 + 2);
		});

		it("shares the given arrays rather than copying them", () => {
			const body = typedBody();
			const decoded = validate(body);
			decoded.inputs.forEach((tensor, i) => expect(tensor.data).toBe(body.inputs[i].data));
		});

		it("mixes with JSON data in one request", () => {
			const body = typedBody();
			body.inputs[1] = jsonBody().inputs[1];
			expect(validate(body)).toEqual(validate(jsonBody()));
		});

		it.each<[OipDatatype, ArrayBufferView]>([
			["BOOL", Uint8Array.of(1, 0)],
			["UINT8", Uint8Array.of(0, 255)],
			["UINT16", Uint16Array.of(65535)],
			["UINT32", Uint32Array.of(4294967295)],
			["UINT64", BigUint64Array.of(7n, 2n ** 64n - 1n)],
			["INT8", Int8Array.of(-128, 127)],
			["INT16", Int16Array.of(-32768)],
			["INT32", Int32Array.of(-2147483648)],
			["INT64", BigInt64Array.of(-5n, -(2n ** 63n))],
			["FP16", Uint16Array.of(0x3e00, 0xb400, toHalfBits(0.1))],
			["FP32", Float32Array.of(0.5, -1e38)],
			["FP64", Float64Array.of(0.1, 1e300)],
		])("takes %s as its own array", (datatype, data) => {
			const decoded = single(datatype)(one(datatype, data));
			expect(decoded.inputs[0].data).toBe(data);
			expect(decoded.bytes).toBe(data.byteLength);
		});

		it("takes a Node Buffer as the Uint8Array it is", () => {
			const data = Buffer.from([1, 2, 3]);
			expect(single("UINT8")(one("UINT8", data)).inputs[0].data).toBe(data);
		});

		it("takes a view into a larger buffer as it is", () => {
			const data = new Float32Array(16).subarray(4, 12);
			data.set(X);
			expect(validate(typedBody(data)).inputs[0].data).toBe(data);
		});
	});

	describe("refuses with 400", () => {
		it.each<[string, OipDatatype, ArrayBufferView, string]>([
			[
				"a Float64Array for FP32",
				"FP32",
				Float64Array.of(1),
				"data is a Float64Array; expected a Float32Array (FP32) or a JSON array",
			],
			[
				"an Int16Array for INT8",
				"INT8",
				Int16Array.of(1),
				"data is an Int16Array; expected an Int8Array (INT8) or a JSON array",
			],
			[
				"a Float32Array for FP16",
				"FP16",
				Float32Array.of(1),
				"data is a Float32Array; expected a Uint16Array of half-precision bit patterns (FP16) or a JSON array",
			],
			[
				"a BigUint64Array for INT64",
				"INT64",
				BigUint64Array.of(1n),
				"data is a BigUint64Array; expected a BigInt64Array (INT64) or a JSON array",
			],
			[
				"a Uint8ClampedArray for UINT8",
				"UINT8",
				Uint8ClampedArray.of(1),
				"data is a Uint8ClampedArray; expected a Uint8Array (UINT8) or a JSON array",
			],
			[
				"a DataView",
				"UINT8",
				new DataView(new ArrayBuffer(1)),
				"data is a DataView; expected a Uint8Array (UINT8) or a JSON array",
			],
			[
				"a typed array for BYTES",
				"BYTES",
				Uint8Array.of(104, 105),
				"data is a Uint8Array; expected a JSON array of strings (BYTES)",
			],
		])("%s, naming both array types", (_, datatype, data, problem) => {
			expectRefused(
				single(datatype),
				one(datatype, data, [1]),
				InvalidInputError,
				`inputs[0] 't': ${problem}.`,
			);
		});

		it("data shorter or longer than the shape, naming the length expected", () => {
			expectRefused(
				validate,
				typedBody(Float32Array.from(X).subarray(0, 7)),
				InvalidInputError,
				"inputs[0] 'x': data is a Float32Array of 7 values but shape [2, 4] needs 8; expected a Float32Array of 8 values, flat and row-major.",
			);
			const long = typedBody();
			long.inputs[2].data = Uint8Array.of(1, 0, 1);
			expectRefused(
				validate,
				long,
				InvalidInputError,
				"inputs[2] 'mask': data is a Uint8Array of 3 values but shape [2] needs 2; expected a Uint8Array of 2 values, flat and row-major.",
			);
		});

		it.each<[string, (x: Float32Array) => void, string]>([
			[
				"NaN where nothing imputes",
				x => (x[7] = NaN),
				"inputs[0] 'x' row 1 feature 'petal_width' (index 3): missing value (null or NaN), which this column does not allow: the version's pipeline does not impute it; expected a number in [0.1, 2.5].",
			],
			[
				"an infinity",
				x => (x[1] = -Infinity),
				"inputs[0] 'x' row 0 feature 'sepal_width' (index 1): got -Infinity; expected a finite number within ±3.4028235e38 (FP32).",
			],
			[
				"a value above a feature's max",
				x => (x[7] = 2.6),
				"inputs[0] 'x' row 1 feature 'petal_width' (index 3): got 2.6, above the maximum 2.5; expected a number in [0.1, 2.5].",
			],
			[
				"a value below a feature's min",
				x => (x[0] = -0.5),
				"inputs[0] 'x' row 0 feature 'sepal_length' (index 0): got -0.5, below the minimum 0; expected a number in [0, 10].",
			],
			[
				"an unknown category code",
				x => (x[6] = 3),
				"inputs[0] 'x' row 1 feature 'color' (index 2): got 3, not a known category; expected a category code, an integer in [0, 2] standing for 'red', 'green', 'blue' (send the categories themselves with instances).",
			],
			[
				"a category code before an out-of-range value: the first in row-major order",
				x => {
					x[2] = 1.5;
					x[4] = 11;
				},
				"inputs[0] 'x' row 0 feature 'color' (index 2): got 1.5, not a known category; expected a category code, an integer in [0, 2] standing for 'red', 'green', 'blue' (send the categories themselves with instances).",
			],
			[
				"an out-of-range value before a category code: the first in row-major order",
				x => {
					x[0] = 11;
					x[6] = 7;
				},
				"inputs[0] 'x' row 0 feature 'sepal_length' (index 0): got 11, above the maximum 10; expected a number in [0, 10].",
			],
		])("%s", (_, change, message) => {
			expectRefused(validate, withX(change), InvalidInputError, message);
		});

		it("a BOOL that is neither 0 nor 1", () => {
			expectRefused(
				single("BOOL"),
				one("BOOL", Uint8Array.of(1, 2)),
				InvalidInputError,
				"inputs[0] 't' row 1: got 2; expected 0 or 1 (BOOL).",
			);
		});

		it("NaN or an infinity in a float input without features", () => {
			const image = single("FP32", [-1, 2, 2]);
			const data = new Float32Array(8);
			data[6] = NaN;
			expectRefused(
				image,
				one("FP32", data, [2, 2, 2]),
				InvalidInputError,
				"inputs[0] 't' element [1, 1] column 0: missing value (null or NaN), which this input does not allow: the version's pipeline does not impute it; expected a finite number.",
			);
			data[6] = 0;
			data[7] = Infinity;
			expectRefused(
				image,
				one("FP32", data, [2, 2, 2]),
				InvalidInputError,
				"inputs[0] 't' element [1, 1] column 1: got Infinity; expected a finite number within ±3.4028235e38 (FP32).",
			);
		});

		it("an FP16 infinity, and a half NaN as a missing value", () => {
			expectRefused(
				single("FP16"),
				one("FP16", Uint16Array.of(0x3c00, 0xfc00)),
				InvalidInputError,
				"inputs[0] 't' row 1: got -Infinity; expected a finite number within ±65504 (FP16).",
			);
			expectRefused(
				single("FP16"),
				one("FP16", Uint16Array.of(0x7e01)),
				InvalidInputError,
				"inputs[0] 't' row 0: missing value (null or NaN), which this input does not allow: the version's pipeline does not impute it; expected a finite number.",
			);
		});

		it("a 64-bit integer out of a feature's range", () => {
			const counts = compileRequestValidator({
				inputs: [
					{
						name: "n",
						datatype: "INT64",
						shape: [-1, 2],
						features: [{ name: "a" }, { name: "visits", min: 0 }],
					},
				],
				outputs: OUTPUTS,
			});
			expect(() =>
				counts({
					inputs: [
						{
							name: "n",
							datatype: "INT64",
							shape: [1, 2],
							data: BigInt64Array.of(-1n, 0n),
						},
					],
				}),
			).not.toThrow();
			expectRefused(
				counts,
				{
					inputs: [
						{
							name: "n",
							datatype: "INT64",
							shape: [1, 2],
							data: BigInt64Array.of(0n, -1n),
						},
					],
				},
				InvalidInputError,
				"inputs[0] 'n' row 0 feature 'visits' (index 1): got -1, below the minimum 0; expected a number in [0, ∞].",
			);
		});
	});

	describe("missing values", () => {
		const imputing = compileRequestValidator(SCHEMA, {}, { imputedColumns: [1, 2] });

		it("accepts NaN in columns the pipeline imputes", () => {
			const body = withX(x => {
				x[1] = NaN;
				x[5] = NaN;
				x[6] = NaN;
			});
			expect(imputing(body).inputs[0].data).toBe(body.inputs[0].data);
		});

		it("still refuses them elsewhere, and refuses infinities even where it imputes", () => {
			expectRefused(
				imputing,
				withX(x => {
					x[1] = NaN;
					x[4] = NaN;
				}),
				InvalidInputError,
				"inputs[0] 'x' row 1 feature 'sepal_length' (index 0): missing value (null or NaN), which this column does not allow: the version's pipeline does not impute it; expected a number in [0, 10].",
			);
			expectRefused(
				imputing,
				withX(x => {
					x[1] = NaN;
					x[5] = Infinity;
				}),
				InvalidInputError,
				"inputs[0] 'x' row 1 feature 'sepal_width' (index 1): got Infinity; expected a finite number within ±3.4028235e38 (FP32).",
			);
		});
	});

	describe("refuses with 413", () => {
		it("a request over maxRowsPerRequest, before reading any data", () => {
			const rows = compileRequestValidator(SCHEMA, { maxRowsPerRequest: 1 });
			expectRefused(
				rows,
				typedBody(),
				RequestTooLargeError,
				"inputs[0] 'x': 2 rows, over the limit of 1 rows per request (maxRowsPerRequest); send fewer rows per request.",
			);
			// Even where the data is also wrong: the limits come first.
			expectRefused(
				rows,
				typedBody(new Float64Array(3)),
				RequestTooLargeError,
				"inputs[0] 'x': 2 rows, over the limit of 1 rows per request (maxRowsPerRequest); send fewer rows per request.",
			);
		});

		it("typed data over maxRequestBytes", () => {
			const tight = compileRequestValidator(SCHEMA, { maxRequestBytes: 65 });
			expectRefused(
				tight,
				typedBody(),
				RequestTooLargeError,
				"inputs (all tensors): 66 bytes, over the limit of 65 bytes per request (maxRequestBytes); send fewer rows per request.",
			);
			expect(() =>
				compileRequestValidator(SCHEMA, { maxRequestBytes: 66 })(typedBody()),
			).not.toThrow();
		});
	});

	describe("the envelope", () => {
		it("still refuses data that is neither an array nor a typed array", () => {
			for (const data of ["5.1,3.5", { length: 8 }, new ArrayBuffer(32), 5])
				expectRefused(
					validate,
					typedBody(data),
					InvalidInputError,
					"Invalid inference request: inputs[0].data must be an array.",
				);
		});

		it("still requires data", () => {
			const body = typedBody();
			delete (body.inputs[0] as Partial<Input>).data;
			expectRefused(
				validate,
				body,
				InvalidInputError,
				"Invalid inference request: inputs[0].data is required.",
			);
			expectRefused(
				validate,
				typedBody(null),
				InvalidInputError,
				"Invalid inference request: inputs[0].data is required.",
			);
		});
	});
});
