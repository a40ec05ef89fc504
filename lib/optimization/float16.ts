/**
 * IEEE 754 half precision from and to JavaScript numbers, as the bit patterns ONNX stores for
 * FLOAT16 tensors (round to nearest, ties to even; overflow to ±infinity, as numpy's astype).
 * Node 24 has Float16Array, but the TypeScript lib this project targets (ES2023) does not.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The largest finite half: larger magnitudes become infinity. */
export const FLOAT16_MAX = 65504;

/** The half-precision bits nearest to `value` (rounded through float32 first, as ONNX tools do). */
export function toFloat16Bits(value: number): number {
	f32[0] = value;
	const bits = u32[0];
	const sign = (bits >>> 16) & 0x8000;
	const exponent32 = (bits >>> 23) & 0xff;
	const mantissa = bits & 0x7fffff;
	if (exponent32 === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0);
	const exponent = exponent32 - 127 + 15;
	if (exponent >= 0x1f) return sign | 0x7c00;
	if (exponent <= 0) {
		if (exponent < -10) return sign;
		// Subnormal half: the implicit leading 1 becomes explicit and shifts right.
		const full = mantissa | 0x800000;
		const shift = 14 - exponent;
		return sign | roundShift(full, shift);
	}
	// A carry out of the mantissa correctly bumps the exponent (and may reach infinity).
	return sign | ((exponent << 10) + roundShift(mantissa, 13));
}

/** value >> shift, rounded to nearest with ties to even. */
function roundShift(value: number, shift: number): number {
	const kept = Math.floor(value / 2 ** shift);
	const rest = value - kept * 2 ** shift;
	const half = 2 ** (shift - 1);
	return rest > half || (rest === half && kept % 2 === 1) ? kept + 1 : kept;
}

/** The number that half-precision bits hold. */
export function fromFloat16Bits(bits: number): number {
	const sign = bits & 0x8000 ? -1 : 1;
	const exponent = (bits >>> 10) & 0x1f;
	const mantissa = bits & 0x3ff;
	if (exponent === 0) return sign * mantissa * 2 ** -24;
	if (exponent === 0x1f) return mantissa !== 0 ? NaN : sign * Infinity;
	return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

export function toFloat16Array(values: ArrayLike<number>): Uint16Array {
	const out = new Uint16Array(values.length);
	for (let i = 0; i < values.length; i++) out[i] = toFloat16Bits(values[i]);
	return out;
}
