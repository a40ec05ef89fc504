import { FP16_MAX, fromHalfBits, toHalfBits } from "../../../lib/inference/fp16";

describe("toHalfBits", () => {
	it.each<[number, number]>([
		[0, 0x0000],
		[-0, 0x8000],
		[1, 0x3c00],
		[-2, 0xc000],
		[0.5, 0x3800],
		[0.1, 0x2e66],
		[FP16_MAX, 0x7bff],
		[2 ** -14, 0x0400],
		[2 ** -24, 0x0001],
		[2 ** -25, 0x0000],
		[3 * 2 ** -25, 0x0002],
		[1 + 2 ** -11, 0x3c00],
		[1 + 3 * 2 ** -11, 0x3c02],
		[65519, 0x7bff],
		[65520, 0x7c00],
		[-Infinity, 0xfc00],
	])("stores %p as the bit pattern %p, rounding to nearest even", (value, bits) => {
		expect(toHalfBits(value)).toBe(bits);
	});

	it("stores NaN as a quiet NaN", () => {
		expect(toHalfBits(NaN)).toBe(0x7e00);
	});

	it("gives back every finite half exactly", () => {
		for (let bits = 0; bits < 0x10000; bits++) {
			if ((bits & 0x7c00) === 0x7c00) continue;
			expect(toHalfBits(fromHalfBits(bits))).toBe(bits);
		}
	});
});

describe("fromHalfBits", () => {
	it.each<[number, number]>([
		[0x3c00, 1],
		[0xc000, -2],
		[0x7bff, 65504],
		[0x0001, 2 ** -24],
		[0x7c00, Infinity],
		[0xfc00, -Infinity],
	])("reads the bit pattern %p as %p", (bits, value) => {
		expect(fromHalfBits(bits)).toBe(value);
	});

	it("reads NaN patterns as NaN", () => {
		expect(fromHalfBits(0x7e00)).toBeNaN();
	});
});
