/** Triton's classification extension: top k as "value:index[:label]", per row, as Triton orders and prints them. */
import { classificationCount, classify } from "../../../lib/inference/classification";
import { toHalfBits } from "../../../lib/inference/fp16";
import type { Tensor } from "../../../lib/inference/tensor";

const tensor = (datatype: Tensor["datatype"], shape: number[], data: Tensor["data"]): Tensor => ({
	name: "out",
	datatype,
	shape,
	data,
});

describe("classify", () => {
	it("answers Triton's own example: [1.1, 3.3, 0.5, 2.4] top 2 → ['3.300000:1', '2.400000:3']", () => {
		const out = classify(tensor("FP32", [4], Float32Array.of(1.1, 3.3, 0.5, 2.4)), 2, null);
		expect(out).toEqual({
			name: "out",
			datatype: "BYTES",
			shape: [2],
			data: [`${Math.fround(3.3).toFixed(6)}:1`, `${Math.fround(2.4).toFixed(6)}:3`],
		});
	});

	it("ranks each row of a batch, labels the classes it can, prints integers as integers", () => {
		const out = classify(tensor("INT32", [2, 3], Int32Array.of(1, 5, 5, 9, 0, 3)), 2, [
			"cat",
			"dog",
		]);
		// Ties keep the lower index first; index 2 has no label.
		expect(out.shape).toEqual([2, 2]);
		expect(out.data).toEqual(["5:1:dog", "5:2", "9:0:cat", "3:2"]);
	});

	it("gives every class when k is larger, ranks FP16 and 64-bit values by what they stand for", () => {
		const half = Uint16Array.from([0.5, -2, 1.5], toHalfBits);
		expect(classify(tensor("FP16", [1, 3], half), 10, null).data).toEqual([
			"1.500000:2",
			"0.500000:0",
			"-2.000000:1",
		]);
		expect(
			classify(tensor("INT64", [1, 2], BigInt64Array.of(-3n, 2n ** 40n)), 1, null).data,
		).toEqual([`${2n ** 40n}:1`]);
	});

	it("refuses BYTES outputs and bad counts with 400", () => {
		expect(() => classify(tensor("BYTES", [1, 2], ["a", "b"]), 1, null)).toThrow(
			/numeric outputs/,
		);
		expect(classificationCount(undefined, "p")).toBeUndefined();
		expect(classificationCount({ classification: null }, "p")).toBeUndefined();
		expect(classificationCount({ classification: 3 }, "p")).toBe(3);
		for (const k of [0, -1, 2.5, "2", 1e9])
			expect(() => classificationCount({ classification: k }, "p")).toThrow(
				expect.objectContaining({ code: 400, message: expect.stringContaining("'p'") }),
			);
	});
});
