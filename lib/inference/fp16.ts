/**
 * IEEE 754 half precision, as FP16 tensors hold it (bit patterns in a Uint16Array). Rounds to
 * nearest, ties to even, straight from the double so no value is rounded twice.
 */

/** The largest finite half (65504); anything from 65520 up rounds to infinity. */
export const FP16_MAX = 65504;

const HALF_NAN = 0x7e00;
const HALF_INFINITY = 0x7c00;

function roundHalfEven(x: number): number {
	const floor = Math.floor(x);
	const rest = x - floor;
	if (rest > 0.5) return floor + 1;
	if (rest < 0.5) return floor;
	return floor % 2 === 0 ? floor : floor + 1;
}

/** The half-precision bit pattern nearest to `value`. */
export function toHalfBits(value: number): number {
	if (Number.isNaN(value)) return HALF_NAN;
	const sign = value < 0 || Object.is(value, -0) ? 0x8000 : 0;
	const a = Math.abs(value);
	if (a >= 65520) return sign | HALF_INFINITY;
	// Subnormal (and zero): steps of 2^-24. A mantissa that rounds up to 1024 is exactly the
	// bit pattern of the smallest normal, so no special case is needed.
	if (a < 2 ** -14) return sign | roundHalfEven(a * 2 ** 24);
	let exponent = Math.floor(Math.log2(a));
	if (2 ** exponent > a) exponent--;
	else if (2 ** (exponent + 1) <= a) exponent++;
	let mantissa = roundHalfEven((a / 2 ** exponent - 1) * 1024);
	if (mantissa === 1024) {
		mantissa = 0;
		exponent++;
	}
	return sign | ((exponent + 15) << 10) | mantissa;
}

/** The number a half-precision bit pattern stands for. */
export function fromHalfBits(bits: number): number {
	const sign = bits & 0x8000 ? -1 : 1;
	const exponent = (bits >> 10) & 0x1f;
	const mantissa = bits & 0x3ff;
	if (exponent === 0) return sign * mantissa * 2 ** -24;
	if (exponent === 0x1f) return mantissa ? NaN : sign * Infinity;
	return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}
