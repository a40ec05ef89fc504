/**
 * The hot loops of the column checks: scans over a tensor's typed data, in place, that stop at
 * the first value a rule may refuse and leave the message to the caller. No closure is called
 * and nothing is allocated per element.
 *
 * V8 specialises a loop for the array types it has met; a loop shared by many (as one would be
 * in a predictor serving models of several datatypes) reads each element several times slower.
 * So FP32 and FP64, nearly every tensor the checks scan, get loops of their own, and the other
 * datatypes (integers with features, FP16, 64-bit integers) share one.
 */
import type { OipDatatype } from "../model-spec/model-schema";
import { anyNonFiniteFP32, WASM_SCAN_MIN_VALUES, WASM_SCAN_STEP } from "./finite-scan-wasm";
import { fromHalfBits } from "./fp16";
import type { TensorData } from "./tensor";

/** The rules of each column of a tensor's last dimension, laid out for the scans. */
export interface ColumnBounds {
	width: number;
	/** Per column, bounds as `scanBound` makes them. */
	lo: Float64Array;
	hi: Float64Array;
	/** The columns with categories, and the numbers each allows. */
	categories: readonly { column: number; allowed: ReadonlySet<number> }[];
}

export interface ColumnScans {
	/** The first index from `from` on whose value is outside [lo, hi] or NaN; -1 when none. */
	outside(data: TensorData, from: number, lo: number, hi: number): number;
	/** The first index whose value is NaN or ±Infinity; -1 when none. */
	nonFinite(data: TensorData): number;
	/** The same, with the bounds of each column. */
	outOfBounds(data: TensorData, from: number, bounds: ColumnBounds): number;
	/**
	 * The first index whose value is a number its column's categories lack; -1 when none.
	 * Missing values are left to `outOfBounds`.
	 */
	unknownCategory(data: TensorData, bounds: ColumnBounds): number;
	/** Element i as a number. */
	valueAt(data: TensorData, i: number): number;
}

/**
 * A bound as the scans compare with it: never infinite, so that `lo <= v <= hi` fails for
 * ±Infinity as it does for NaN, and one comparison finds every non-finite value too.
 */
export function scanBound(bound: number): number {
	return Math.min(Math.max(bound, -Number.MAX_VALUE), Number.MAX_VALUE);
}

const DIRECT = 0;
const HALF = 1;
const BIG = 2;

function valueAt(data: TensorData, reading: number, i: number): number {
	if (reading === DIRECT) return (data as Float64Array)[i];
	if (reading === HALF) return fromHalfBits((data as Uint16Array)[i]);
	return Number((data as BigInt64Array)[i]);
}

function outsideFP32(data: TensorData, from: number, lo: number, hi: number): number {
	const values = data as Float32Array;
	for (let i = from; i < values.length; i++) {
		const v = values[i];
		if (!(v >= lo && v <= hi)) return i;
	}
	return -1;
}

function outsideFP64(data: TensorData, from: number, lo: number, hi: number): number {
	const values = data as Float64Array;
	for (let i = from; i < values.length; i++) {
		const v = values[i];
		if (!(v >= lo && v <= hi)) return i;
	}
	return -1;
}

/** The largest finite number, as `outside` takes it, for finiteness alone. */
const FINITE = Number.MAX_VALUE;

/*
 * Finiteness in one pass without a branch per value: the sum of value × 0 over the data is 0
 * when every value is finite and NaN as soon as one is not (NaN × 0 and ±Infinity × 0 are NaN,
 * and NaN stays NaN through any sum). Eight values share one multiplication (their float64 sum
 * is finite for any finite float32s) and two sums run side by side, so the loop costs about a
 * load and an add per value: about twice as fast as comparing each value. Only when the sum
 * says something is wrong does a second, comparing pass find where (or find nothing: a float64
 * sum can overflow on its own, which costs that pass and nothing else).
 */
function nonFiniteFP32(data: TensorData): number {
	const values = data as Float32Array;
	const n = values.length;
	let a = 0;
	let b = 0;
	let i = 0;
	// Larger data goes to the WebAssembly SIMD kernel, which leaves a short tail to this loop.
	if (n >= WASM_SCAN_MIN_VALUES) {
		const found = anyNonFiniteFP32(values);
		if (found === true) return outsideFP32(data, 0, -FINITE, FINITE);
		if (found === false) i = n - (n % WASM_SCAN_STEP);
	}
	for (; i + 8 <= n; i += 8) {
		a += (values[i] + values[i + 1] + (values[i + 2] + values[i + 3])) * 0;
		b += (values[i + 4] + values[i + 5] + (values[i + 6] + values[i + 7])) * 0;
	}
	for (; i < n; i++) a += values[i] * 0;
	return a + b === 0 ? -1 : outsideFP32(data, 0, -FINITE, FINITE);
}

function nonFiniteFP64(data: TensorData): number {
	const values = data as Float64Array;
	const n = values.length;
	let a = 0;
	let b = 0;
	let i = 0;
	for (; i + 8 <= n; i += 8) {
		a += (values[i] + values[i + 1] + (values[i + 2] + values[i + 3])) * 0;
		b += (values[i + 4] + values[i + 5] + (values[i + 6] + values[i + 7])) * 0;
	}
	for (; i < n; i++) a += values[i] * 0;
	return a + b === 0 ? -1 : outsideFP64(data, 0, -FINITE, FINITE);
}

// Row by row, so that the column is the inner loop's index rather than a division.
function outOfBoundsFP32(data: TensorData, from: number, bounds: ColumnBounds): number {
	const values = data as Float32Array;
	const { width, lo, hi } = bounds;
	const length = values.length;
	for (let row = from - (from % width); row < length; row += width) {
		for (let c = row < from ? from - row : 0; c < width; c++) {
			const v = values[row + c];
			if (!(v >= lo[c] && v <= hi[c])) return row + c;
		}
	}
	return -1;
}

function outOfBoundsFP64(data: TensorData, from: number, bounds: ColumnBounds): number {
	const values = data as Float64Array;
	const { width, lo, hi } = bounds;
	const length = values.length;
	for (let row = from - (from % width); row < length; row += width) {
		for (let c = row < from ? from - row : 0; c < width; c++) {
			const v = values[row + c];
			if (!(v >= lo[c] && v <= hi[c])) return row + c;
		}
	}
	return -1;
}

function otherScans(reading: number): ColumnScans {
	const outside = (data: TensorData, from: number, lo: number, hi: number): number => {
		for (let i = from; i < data.length; i++) {
			const v = valueAt(data, reading, i);
			if (!(v >= lo && v <= hi)) return i;
		}
		return -1;
	};
	return {
		outside,
		outOfBounds(data, from, { width, lo, hi }) {
			for (let row = from - (from % width); row < data.length; row += width) {
				for (let c = row < from ? from - row : 0; c < width; c++) {
					const v = valueAt(data, reading, row + c);
					if (!(v >= lo[c] && v <= hi[c])) return row + c;
				}
			}
			return -1;
		},
		nonFinite: data => outside(data, 0, -FINITE, FINITE),
		unknownCategory: (data, bounds) => unknownCategory(data, reading, bounds),
		valueAt: (data, i) => valueAt(data, reading, i),
	};
}

function unknownCategory(data: TensorData, reading: number, bounds: ColumnBounds): number {
	let first = data.length;
	for (const { column, allowed } of bounds.categories) {
		for (let i = column; i < first; i += bounds.width) {
			const v = valueAt(data, reading, i);
			if (v === v && !allowed.has(v)) {
				first = i;
				break;
			}
		}
	}
	return first === data.length ? -1 : first;
}

const FP32_SCANS: ColumnScans = {
	...otherScans(DIRECT),
	outside: outsideFP32,
	nonFinite: nonFiniteFP32,
	outOfBounds: outOfBoundsFP32,
};
const FP64_SCANS: ColumnScans = {
	...otherScans(DIRECT),
	outside: outsideFP64,
	nonFinite: nonFiniteFP64,
	outOfBounds: outOfBoundsFP64,
};
const DIRECT_SCANS = otherScans(DIRECT);
const HALF_SCANS = otherScans(HALF);
const BIG_SCANS = otherScans(BIG);

/** The scans over a datatype's array; BYTES has none (its categories are strings). */
export function columnScans(datatype: Exclude<OipDatatype, "BYTES">): ColumnScans {
	switch (datatype) {
		case "FP32":
			return FP32_SCANS;
		case "FP64":
			return FP64_SCANS;
		case "FP16":
			return HALF_SCANS;
		case "INT64":
		case "UINT64":
			return BIG_SCANS;
		default:
			return DIRECT_SCANS;
	}
}
