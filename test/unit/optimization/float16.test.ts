import { FLOAT16_MAX, fromFloat16Bits, toFloat16Bits } from "../../../lib/optimization/float16";

/** Node 24's own rounding to half precision, the reference (absent from the ES2023 typings). */
const f16round = (Math as unknown as { f16round: (x: number) => number }).f16round;

describe("float16 bits", () => {
	it("rounds like Math.f16round over normals, subnormals, ties and overflow", () => {
		const values = [
			0,
			-0,
			1,
			-2,
			0.1,
			1 / 3,
			65504,
			65519,
			65520,
			1e6,
			6.1e-5,
			5.96e-8,
			2.98e-8,
			1e-9,
		];
		for (let i = 0; i < 2000; i++) values.push((Math.sin(i) * 10) ** 3 / 7);
		for (const value of values)
			expect(fromFloat16Bits(toFloat16Bits(value))).toBe(f16round(Math.fround(value)));
	});

	it("keeps infinities and NaN", () => {
		expect(fromFloat16Bits(toFloat16Bits(Infinity))).toBe(Infinity);
		expect(fromFloat16Bits(toFloat16Bits(-Infinity))).toBe(-Infinity);
		expect(fromFloat16Bits(toFloat16Bits(NaN))).toBeNaN();
		expect(fromFloat16Bits(0x7bff)).toBe(FLOAT16_MAX);
	});
});
