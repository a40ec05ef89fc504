import { InvalidInputError } from "../../../lib/errors";
import type { CapturedPrediction, CapturedTensor } from "../../../lib/monitoring/capture";
import {
	CaptureBatchWriter,
	decodeCaptureBatch,
	summarizeCaptureBatch,
} from "../../../lib/monitoring/capture-batch";

type Capture = Omit<CapturedPrediction, "tenant">;

const capture = (over: Partial<Capture> = {}): Capture => ({
	predictionId: "p1",
	model: "mlp",
	version: "1.2.0",
	at: Date.UTC(2026, 11, 6, 1, 2, 3, 456),
	latencyMs: 0.731,
	rows: 1,
	inputs: [{ name: "x", datatype: "FP32", shape: [1, 3], data: Float32Array.of(0.1, -2, 3.5) }],
	outputs: [{ name: "y", datatype: "FP32", shape: [1, 1], data: Float32Array.of(0.9) }],
	error: null,
	...over,
});

function written(captures: readonly Capture[], initialBytes?: number, maxValues?: number) {
	const writer = new CaptureBatchWriter(initialBytes);
	for (const c of captures) writer.append(c, maxValues);
	return writer.bytes();
}

/** One tensor of every datatype, with the values that are easy to get wrong. */
const EVERY_KIND: CapturedTensor[] = [
	{
		name: "f32",
		datatype: "FP32",
		shape: [1, 5],
		data: Float32Array.of(3.1, -0, NaN, Infinity, -1e-40),
	},
	{
		name: "f64",
		datatype: "FP64",
		shape: [1, 2],
		data: Float64Array.of(Math.PI, -Number.MAX_VALUE),
	},
	{ name: "f16", datatype: "FP16", shape: [1, 2], data: Uint16Array.of(0x3c00, 0xfbff) },
	{ name: "i64", datatype: "INT64", shape: [1, 2], data: BigInt64Array.of(-(2n ** 63n), 7n) },
	{ name: "u64", datatype: "UINT64", shape: [1, 1], data: BigUint64Array.of(2n ** 64n - 1n) },
	{ name: "i32", datatype: "INT32", shape: [1, 2], data: Int32Array.of(-5, 2 ** 31 - 1) },
	{ name: "i16", datatype: "INT16", shape: [1, 1], data: Int16Array.of(-300) },
	{ name: "i8", datatype: "INT8", shape: [1, 1], data: Int8Array.of(-128) },
	{ name: "u32", datatype: "UINT32", shape: [1, 1], data: Uint32Array.of(2 ** 32 - 1) },
	{ name: "u16", datatype: "UINT16", shape: [1, 1], data: Uint16Array.of(65535) },
	{ name: "u8", datatype: "UINT8", shape: [1, 1], data: Uint8Array.of(255) },
	{ name: "b", datatype: "BOOL", shape: [1, 2], data: Uint8Array.of(1, 0) },
	{ name: "s", datatype: "BYTES", shape: [1, 2], data: ["red", "ünïcødé \u{1f600}"] },
	{ name: "scalar", datatype: "FP32", shape: [], data: Float32Array.of(1) },
];

describe("capture batches", () => {
	it("give back exactly what was written: every datatype, nulls, failures, text", () => {
		const captures = [
			capture({ inputs: EVERY_KIND, outputs: [] }),
			capture({
				predictionId: "",
				rows: 0,
				inputs: null,
				outputs: null,
				error: "INTERNAL_ERROR",
			}),
			capture({ predictionId: "id-ß-\u{1f600}", model: "m@prod", at: 1, latencyMs: 0 }),
			capture({ rows: 3, inputs: [], outputs: null }),
		];
		expect(decodeCaptureBatch(written(captures))).toEqual(captures);
	});

	it("copies a view's own bytes when written, not its buffer's or later ones", () => {
		const backing = Float32Array.of(9, 1, 2, 3, 9);
		const view = backing.subarray(1, 4);
		const bytes = written([
			capture({ inputs: [{ name: "x", datatype: "FP32", shape: [1, 3], data: view }] }),
		]);
		backing.fill(0);
		const [back] = decodeCaptureBatch(bytes);
		expect(back.inputs?.[0].data).toEqual(Float32Array.of(1, 2, 3));
	});

	it("grows its buffer as records come, and keeps only metadata of a request over maxValues", () => {
		const big: CapturedTensor = {
			name: "x",
			datatype: "FP64",
			shape: [100, 10],
			data: Float64Array.from({ length: 1000 }, (_, i) => i / 7),
		};
		const many = Array.from({ length: 20 }, (_, i) =>
			capture({ predictionId: `p${i}`, inputs: [big] }),
		);
		const bytes = written(many, 64);
		expect(decodeCaptureBatch(bytes)).toEqual(many);
		const [kept] = decodeCaptureBatch(written([capture({ inputs: [big] })], 64, 1000));
		expect(kept).toEqual({ ...capture(), inputs: null, outputs: null });
	});

	it("summarize what the store keeps beside the bytes", () => {
		const bytes = written([
			capture({ predictionId: "a", at: 30, rows: 2 }),
			capture({ predictionId: "", at: 10, rows: 0, inputs: null, outputs: null, error: "X" }),
			capture({ predictionId: "b", at: 20, rows: 5 }),
		]);
		expect(summarizeCaptureBatch(bytes)).toEqual({
			count: 3,
			rows: 7,
			errors: 1,
			firstAt: 10,
			lastAt: 30,
			predictionIds: ["a", "b"],
		});
	});

	it("refuse bytes that are not a whole batch with INVALID_INPUT, never another error", () => {
		const bytes = written([
			capture({ inputs: EVERY_KIND }),
			capture({ predictionId: "second" }),
		]);
		const refused = (b: Uint8Array) => {
			expect(() => summarizeCaptureBatch(b)).toThrow(InvalidInputError);
			expect(() => decodeCaptureBatch(b)).toThrow(InvalidInputError);
		};
		refused(Buffer.from("MFC0"));
		refused(new Uint8Array(0));
		// An empty batch reads as no captures, and is not stored.
		expect(decodeCaptureBatch(Buffer.from("MFC1"))).toEqual([]);
		expect(() => summarizeCaptureBatch(Buffer.from("MFC1"))).toThrow(InvalidInputError);
		const firstEnds = 4 + 4 + Buffer.from(bytes).readUInt32LE(4);
		for (let cut = 5; cut < bytes.length; cut++) {
			if (cut === firstEnds) {
				// A batch cut between records is a shorter batch.
				expect(decodeCaptureBatch(bytes.subarray(0, cut))).toHaveLength(1);
				continue;
			}
			expect(() => decodeCaptureBatch(bytes.subarray(0, cut))).toThrow(InvalidInputError);
			expect(() => summarizeCaptureBatch(bytes.subarray(0, cut))).toThrow(InvalidInputError);
		}
		// Any single byte changed: the batch is refused as malformed, or read (data bytes).
		for (let i = 4; i < bytes.length; i++) {
			const damaged = Buffer.from(bytes);
			damaged[i] ^= 0xa5;
			for (const read of [decodeCaptureBatch, summarizeCaptureBatch])
				try {
					read(damaged);
				} catch (err) {
					expect(err).toBeInstanceOf(InvalidInputError);
				}
		}
	});
});
