import {
	attachBinaryInputs,
	binaryOutputChooser,
	decodeBytesElements,
	encodeBinaryResponse,
	parseHeaderLength,
	parseInferBody,
	tensorBytes,
} from "../../../lib/http/oip-binary";
import type { Tensor } from "../../../lib/inference/tensor";

/** A binary request body: the JSON header, then each buffer in order. */
function body(header: unknown, ...parts: Uint8Array[]): { bytes: Buffer; headerLength: number } {
	const json = Buffer.from(JSON.stringify(header));
	return { bytes: Buffer.concat([json, ...parts]), headerLength: json.length };
}

function bytesElements(...values: string[]): Buffer {
	return Buffer.concat(
		values.flatMap(v => {
			const text = Buffer.from(v, "utf8");
			const length = Buffer.alloc(4);
			length.writeUInt32LE(text.length);
			return [length, text];
		}),
	);
}

function errorOf(run: () => unknown): { message: string; code: number; type: string } {
	try {
		run();
	} catch (err) {
		return err as { message: string; code: number; type: string };
	}
	throw new Error("expected a throw");
}

describe("parseHeaderLength", () => {
	it("reads the header as a byte count and null when absent", () => {
		expect(parseHeaderLength(undefined)).toBeNull();
		expect(parseHeaderLength("123")).toBe(123);
		expect(parseHeaderLength(" 0 ")).toBe(0);
	});

	it.each(["-1", "abc", "1.5", "", "99999999999999999999", "1,2"])(
		"refuses %j with 400",
		text => {
			expect(errorOf(() => parseHeaderLength(text))).toMatchObject({
				code: 400,
				message: expect.stringContaining("Inference-Header-Content-Length"),
			});
		},
	);
});

describe("parseInferBody", () => {
	it("parses a plain JSON body when there is no header length", () => {
		expect(parseInferBody(Buffer.from('{"inputs":[]}'), null)).toEqual({ inputs: [] });
	});

	it("answers 400 for a body that is not JSON", () => {
		expect(errorOf(() => parseInferBody(Buffer.from("{oops"), null))).toMatchObject({
			code: 400,
			type: "INVALID_INPUT",
			message: expect.stringContaining("not valid JSON"),
		});
	});

	it("attaches each input's bytes in order, as typed arrays of its datatype", () => {
		const { bytes, headerLength } = body(
			{
				inputs: [
					{
						name: "a",
						shape: [2, 2],
						datatype: "UINT32",
						parameters: { binary_data_size: 16 },
					},
					{
						name: "b",
						shape: [3],
						datatype: "BOOL",
						parameters: { binary_data_size: 3 },
					},
					{ name: "c", shape: [1], datatype: "FP32", data: [1.5] },
				],
			},
			new Uint8Array(Uint32Array.from([1, 2, 3, 4294967295]).buffer),
			Uint8Array.from([1, 0, 1]),
		);
		const request = parseInferBody(bytes, headerLength) as {
			inputs: { name: string; data: unknown }[];
		};
		expect(request.inputs[0].data).toEqual(Uint32Array.from([1, 2, 3, 4294967295]));
		expect(request.inputs[1].data).toEqual(Uint8Array.from([1, 0, 1]));
		expect(request.inputs[2].data).toEqual([1.5]);
	});

	it("views the body without copying where the tensor is aligned, and copies once where not", () => {
		const values = Float32Array.from([0.5, -2, 3.25]);
		// Header padded to a multiple of 8 so the tensor starts aligned in a fresh buffer.
		let header = JSON.stringify({
			inputs: [
				{ name: "x", shape: [3], datatype: "FP32", parameters: { binary_data_size: 12 } },
			],
		});
		header += " ".repeat((8 - (header.length % 8)) % 8);
		const aligned = Buffer.from(new ArrayBuffer(header.length + 12));
		aligned.write(header);
		Buffer.from(values.buffer).copy(aligned, header.length);
		const viewed = (
			parseInferBody(aligned, header.length) as { inputs: { data: Float32Array }[] }
		).inputs[0].data;
		expect(viewed).toEqual(values);
		expect(viewed.buffer).toBe(aligned.buffer);

		const shifted = Buffer.from(new ArrayBuffer(header.length + 14), 1);
		shifted.write(" " + header);
		Buffer.from(values.buffer).copy(shifted, header.length + 1);
		const copied = (
			parseInferBody(shifted, header.length + 1) as { inputs: { data: Float32Array }[] }
		).inputs[0].data;
		expect(copied).toEqual(values);
		expect(copied.buffer).not.toBe(shifted.buffer);
	});

	it("decodes 64-bit integers, FP16 bit patterns and BYTES", () => {
		const { bytes, headerLength } = body(
			{
				inputs: [
					{
						name: "i",
						shape: [2],
						datatype: "INT64",
						parameters: { binary_data_size: 16 },
					},
					{
						name: "h",
						shape: [2],
						datatype: "FP16",
						parameters: { binary_data_size: 4 },
					},
					{
						name: "s",
						shape: [3],
						datatype: "BYTES",
						parameters: { binary_data_size: 18 },
					},
				],
			},
			new Uint8Array(BigInt64Array.from([-(2n ** 63n), 2n ** 40n]).buffer),
			new Uint8Array(Uint16Array.from([0x3c00, 0xc000]).buffer),
			bytesElements("a", "", "ünï"),
		);
		const request = parseInferBody(bytes, headerLength) as { inputs: { data: unknown }[] };
		expect(request.inputs[0].data).toEqual(BigInt64Array.from([-(2n ** 63n), 2n ** 40n]));
		expect(request.inputs[1].data).toEqual(Uint16Array.from([0x3c00, 0xc000]));
		expect(request.inputs[2].data).toEqual(["a", "", "ünï"]);
	});

	it.each([
		[
			"a header length past the body",
			() => parseInferBody(Buffer.from("{}"), 10),
			/Inference-Header-Content-Length is 10 but the body holds only 2 bytes/,
		],
		[
			"a binary_data_size past the end",
			() => {
				const b = body(
					{
						inputs: [
							{
								name: "x",
								shape: [2],
								datatype: "FP32",
								parameters: { binary_data_size: 8 },
							},
						],
					},
					Buffer.alloc(4),
				);
				return parseInferBody(b.bytes, b.headerLength);
			},
			/inputs\[0\] 'x': parameters.binary_data_size 8 runs past the end of the body: 4 byte/,
		],
		[
			"sizes that leave bytes over",
			() => {
				const b = body(
					{
						inputs: [
							{
								name: "x",
								shape: [1],
								datatype: "FP32",
								parameters: { binary_data_size: 4 },
							},
						],
					},
					Buffer.alloc(6),
				);
				return parseInferBody(b.bytes, b.headerLength);
			},
			/6 bytes of binary tensor data but the inputs' parameters.binary_data_size add up to 4/,
		],
		[
			"a size the element size does not divide",
			() => {
				const b = body(
					{
						inputs: [
							{
								name: "x",
								shape: [1],
								datatype: "FP64",
								parameters: { binary_data_size: 6 },
							},
						],
					},
					Buffer.alloc(6),
				);
				return parseInferBody(b.bytes, b.headerLength);
			},
			/inputs\[0\] 'x': binary_data_size 6 is not a multiple of 8, the bytes of one FP64 element/,
		],
		[
			"a negative size",
			() =>
				attachBinaryInputs(
					{
						inputs: [
							{
								name: "x",
								shape: [1],
								datatype: "FP32",
								parameters: { binary_data_size: -4 },
							},
						],
					},
					Buffer.alloc(0),
				),
			/inputs\[0\] 'x': parameters.binary_data_size is -4/,
		],
		[
			"an unknown datatype",
			() =>
				attachBinaryInputs(
					{
						inputs: [
							{
								name: "x",
								shape: [1],
								datatype: "FP8",
								parameters: { binary_data_size: 1 },
							},
						],
					},
					Buffer.alloc(1),
				),
			/inputs\[0\] 'x': datatype "FP8" has no binary form/,
		],
		[
			"both data and a binary size",
			() =>
				attachBinaryInputs(
					{
						inputs: [
							{
								name: "x",
								shape: [1],
								datatype: "FP32",
								data: [1],
								parameters: { binary_data_size: 4 },
							},
						],
					},
					Buffer.alloc(4),
				),
			/inputs\[0\] 'x': has both data and parameters.binary_data_size/,
		],
		[
			"binary bytes with no inputs array",
			() => attachBinaryInputs({ id: "1" }, Buffer.alloc(4)),
			/4 bytes after its JSON header but the header has no inputs array/,
		],
		[
			"a non-JSON header",
			() => parseInferBody(Buffer.from("nope...."), 4),
			/The JSON header is not valid JSON/,
		],
	])("answers 400 naming the input for %s", (_what, run, message) => {
		const error = errorOf(run);
		expect(error.code).toBe(400);
		expect(error.message).toMatch(message);
	});
});

describe("decodeBytesElements", () => {
	it("refuses a truncated length or element, naming the element", () => {
		expect(
			errorOf(() => decodeBytesElements(Buffer.from([1, 0]), "inputs[0] 's'")).message,
		).toMatch(
			/inputs\[0\] 's': BYTES element 0 at byte 0 has 2 byte\(s\) where its 4-byte length should be/,
		);
		const cut = bytesElements("abc", "defg").subarray(0, 12);
		expect(errorOf(() => decodeBytesElements(cut, "inputs[0] 's'")).message).toMatch(
			/BYTES element 1 says 4 bytes but only 1 remain/,
		);
	});
});

describe("binaryOutputChooser", () => {
	it("follows binary_data_output for all outputs unless an output says otherwise", () => {
		const choose = binaryOutputChooser({
			parameters: { binary_data_output: true },
			outputs: [{ name: "a", parameters: { binary_data: false } }, { name: "b" }],
		});
		expect([choose("a"), choose("b"), choose("c")]).toEqual([false, true, true]);
		const own = binaryOutputChooser({
			outputs: [{ name: "a", parameters: { binary_data: true } }],
		});
		expect([own("a"), own("b")]).toEqual([true, false]);
		expect(binaryOutputChooser(null)("a")).toBe(false);
	});
});

describe("encodeBinaryResponse", () => {
	const outputs: Tensor[] = [
		{ name: "y", datatype: "FP32", shape: [2], data: Float32Array.from([1.5, -2]) },
		{ name: "s", datatype: "BYTES", shape: [2], data: ["hi", "ü"] },
		{ name: "k", datatype: "INT64", shape: [1], data: BigInt64Array.from([7n]) },
	];
	const parts = { modelName: "m", modelVersion: "1.0.0", id: "9", outputs };

	it("answers null when no output is binary", () => {
		expect(encodeBinaryResponse(parts, () => false)).toBeNull();
	});

	it("puts binary outputs after the JSON header, in order, with their sizes; others stay JSON", () => {
		const encoded = encodeBinaryResponse(parts, name => name !== "k")!;
		const header = JSON.parse(encoded.body.subarray(0, encoded.headerLength).toString());
		expect(header).toEqual({
			model_name: "m",
			model_version: "1.0.0",
			id: "9",
			outputs: [
				{ name: "y", datatype: "FP32", shape: [2], parameters: { binary_data_size: 8 } },
				{ name: "s", datatype: "BYTES", shape: [2], parameters: { binary_data_size: 12 } },
				{ name: "k", datatype: "INT64", shape: [1], data: [7] },
			],
		});
		const rest = encoded.body.subarray(encoded.headerLength);
		expect(rest.length).toBe(20);
		expect(new Float32Array(Uint8Array.from(rest.subarray(0, 8)).buffer)).toEqual(
			Float32Array.from([1.5, -2]),
		);
		expect(decodeBytesElements(rest.subarray(8), "s")).toEqual(["hi", "ü"]);
	});

	it("gives BOOL as one byte per element", () => {
		expect([
			...tensorBytes({
				name: "b",
				datatype: "BOOL",
				shape: [3],
				data: Uint8Array.from([1, 0, 1]),
			}),
		]).toEqual([1, 0, 1]);
	});
});
