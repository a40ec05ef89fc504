import { columnScans } from "../../../lib/inference/column-scans";
import { anyNonFiniteFP32 } from "../../../lib/inference/finite-scan-wasm";
import { toHalfBits } from "../../../lib/inference/fp16";
import type { TensorData } from "../../../lib/inference/tensor";

const BAD = [NaN, Infinity, -Infinity] as const;

describe("columnScans(...).nonFinite", () => {
	// Around the JavaScript loop's blocks of 8, the SIMD kernel's threshold (1024) and steps
	// of 32, and its memory of 65,536 values: a bad value in a block, in a tail, in a chunk.
	const lengths = [1, 7, 8, 9, 16, 61, 64, 1023, 1024, 1055, 4096, 65_536 + 40, 200_003];

	describe.each(["FP32", "FP64"] as const)("%s", datatype => {
		const scans = columnScans(datatype);
		const make = (length: number): TensorData =>
			datatype === "FP32"
				? new Float32Array(length).map((_, i) => i * 0.5 - 3)
				: new Float64Array(length).map((_, i) => i * 0.5 - 3);

		it.each(lengths)("finds nothing in %i finite values", length => {
			expect(scans.nonFinite(make(length))).toBe(-1);
		});

		it.each(lengths.flatMap(length => BAD.map(bad => [length, bad] as const)))(
			"finds the first of two bad values in %i values (%s)",
			(length, bad) => {
				const data = make(length) as Float32Array;
				const at = Math.floor(length / 2);
				data[at] = bad;
				data[length - 1] = NaN;
				expect(scans.nonFinite(data)).toBe(at);
			},
		);

		it("accepts the largest finite values (their float64 sums may overflow)", () => {
			const max = datatype === "FP32" ? 3.4028234663852886e38 : Number.MAX_VALUE;
			const data = make(64) as Float32Array;
			data.fill(max, 0, 32);
			data.fill(-max, 32);
			expect(scans.nonFinite(data)).toBe(-1);
		});
	});

	it("runs FP32 data through the WebAssembly SIMD kernel, which finds every kind of bad value", () => {
		const data = new Float32Array(70_000).fill(1.5);
		expect(anyNonFiniteFP32(data)).toBe(false);
		for (const at of [0, 31, 32, 65_535, 65_536, 69_983]) {
			for (const bad of BAD) {
				data[at] = bad;
				expect(anyNonFiniteFP32(data)).toBe(true);
				data[at] = -3.4028234663852886e38;
				expect(anyNonFiniteFP32(data)).toBe(false);
			}
		}
		// The last values that do not fill a step of 32 are left to the caller.
		data[69_999] = NaN;
		expect(anyNonFiniteFP32(data)).toBe(false);
		expect(columnScans("FP32").nonFinite(data)).toBe(69_999);
	});

	it("covers the other datatypes too", () => {
		const half = Uint16Array.from([1, 2, Infinity, 4].map(toHalfBits));
		expect(columnScans("FP16").nonFinite(half)).toBe(2);
		expect(columnScans("INT32").nonFinite(Int32Array.from([1, -2, 3]))).toBe(-1);
	});
});
