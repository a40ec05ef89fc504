/**
 * JSON values into typed-array elements, one decoder per datatype. A decoder stores a value or
 * says what was wrong with it; it never throws, so the caller can name the position.
 *
 * Missing values (null, NaN) are stored as NaN in FP16/FP32/FP64 — whether they are allowed
 * is the column checks' decision (only where the pipeline imputes). No other datatype can
 * hold a missing value.
 */
import type { OipDatatype } from "../model-spec/model-schema";
import { fromHalfBits, toHalfBits } from "./fp16";
import { show } from "./input-location";
import { TYPED_ARRAY_OF, type TensorData } from "./tensor";

export interface ElementDecoder {
	readonly datatype: OipDatatype;
	/** Bytes one element takes in the typed data; 0 for BYTES, counted per string instead. */
	readonly bytesPerElement: number;
	/** What a valid element looks like, for messages. */
	readonly expected: string;
	allocate(length: number): TensorData;
	/** Stores `value` at `index`; returns what is wrong with it (`got …; expected …`), or null. */
	write(data: TensorData, index: number, value: unknown): string | null;
}

const HALF_INFINITY = 0x7c00;

type NumericArray = Exclude<TensorData, string[] | BigInt64Array | BigUint64Array>;

function wrong(value: unknown, expected: string): string {
	return `got ${show(value)}; expected ${expected}`;
}

function integerDecoder(
	datatype: OipDatatype,
	bytes: number,
	min: number,
	max: number,
): ElementDecoder {
	const expected = `an integer in [${min}, ${max}] (${datatype})`;
	return {
		datatype,
		bytesPerElement: bytes,
		expected,
		allocate: n => new TYPED_ARRAY_OF[datatype as keyof typeof TYPED_ARRAY_OF](n),
		write(data, index, value) {
			if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max)
				return wrong(value, expected);
			(data as NumericArray)[index] = value;
			return null;
		},
	};
}

function bigIntDecoder(datatype: "INT64" | "UINT64"): ElementDecoder {
	const [min, max] = datatype === "INT64" ? [-(2n ** 63n), 2n ** 63n - 1n] : [0n, 2n ** 64n - 1n];
	const expected = `an integer in [${min}, ${max}] (${datatype}), as a number or, beyond ±2^53, a string of digits`;
	return {
		datatype,
		bytesPerElement: 8,
		expected,
		allocate: n => new TYPED_ARRAY_OF[datatype](n),
		write(data, index, value) {
			let big: bigint;
			if (typeof value === "number" && Number.isSafeInteger(value)) big = BigInt(value);
			else if (typeof value === "string" && /^[+-]?\d{1,20}$/.test(value))
				big = BigInt(value);
			else return wrong(value, expected);
			if (big < min || big > max) return wrong(value, expected);
			(data as BigInt64Array | BigUint64Array)[index] = big;
			return null;
		},
	};
}

function floatDecoder(datatype: "FP16" | "FP32" | "FP64"): ElementDecoder {
	const range = { FP16: "±65504", FP32: "±3.4028235e38", FP64: "" }[datatype];
	const expected = `a finite number${range ? ` within ${range}` : ""} (${datatype})`;
	// Each store returns false when a finite value overflows the datatype's range.
	const stores = {
		FP16: (data: TensorData, index: number, value: number): boolean => {
			const bits = toHalfBits(value);
			(data as Uint16Array)[index] = bits;
			return (bits & 0x7fff) !== HALF_INFINITY;
		},
		FP32: (data: TensorData, index: number, value: number): boolean => {
			const single = Math.fround(value);
			(data as Float32Array)[index] = single;
			return single !== Infinity && single !== -Infinity;
		},
		FP64: (data: TensorData, index: number, value: number): boolean => {
			(data as Float64Array)[index] = value;
			return true;
		},
	};
	const store = stores[datatype];
	return {
		datatype,
		bytesPerElement: datatype === "FP16" ? 2 : datatype === "FP32" ? 4 : 8,
		expected,
		allocate: n => new TYPED_ARRAY_OF[datatype](n),
		write(data, index, value) {
			if (value === null) value = NaN;
			if (typeof value !== "number" || value === Infinity || value === -Infinity)
				return wrong(value, expected);
			return store(data, index, value) ? null : wrong(value, expected);
		},
	};
}

const BOOL_DECODER: ElementDecoder = {
	datatype: "BOOL",
	bytesPerElement: 1,
	expected: "true or false (BOOL)",
	allocate: n => new Uint8Array(n),
	write(data, index, value) {
		if (typeof value !== "boolean") return wrong(value, "true or false (BOOL)");
		(data as Uint8Array)[index] = value ? 1 : 0;
		return null;
	},
};

const BYTES_DECODER: ElementDecoder = {
	datatype: "BYTES",
	bytesPerElement: 0,
	expected: "a string (BYTES)",
	allocate: n => new Array<string>(n),
	write(data, index, value) {
		if (typeof value !== "string") return wrong(value, "a string (BYTES)");
		(data as string[])[index] = value;
		return null;
	},
};

export const ELEMENT_DECODERS: Readonly<Record<OipDatatype, ElementDecoder>> = Object.freeze({
	BOOL: BOOL_DECODER,
	UINT8: integerDecoder("UINT8", 1, 0, 255),
	UINT16: integerDecoder("UINT16", 2, 0, 65535),
	UINT32: integerDecoder("UINT32", 4, 0, 4294967295),
	UINT64: bigIntDecoder("UINT64"),
	INT8: integerDecoder("INT8", 1, -128, 127),
	INT16: integerDecoder("INT16", 2, -32768, 32767),
	INT32: integerDecoder("INT32", 4, -2147483648, 2147483647),
	INT64: bigIntDecoder("INT64"),
	FP16: floatDecoder("FP16"),
	FP32: floatDecoder("FP32"),
	FP64: floatDecoder("FP64"),
	BYTES: BYTES_DECODER,
});

/**
 * What a number becomes once stored as `datatype` (FP32 and FP16 round), so that bounds and
 * categories compare with stored values as the client meant them: 0.1 stays within max 0.1.
 */
export function storedNumber(datatype: OipDatatype): (value: number) => number {
	if (datatype === "FP32") return Math.fround;
	if (datatype === "FP16") return value => fromHalfBits(toHalfBits(value));
	return value => value;
}
