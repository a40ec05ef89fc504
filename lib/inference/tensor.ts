/**
 * Tensors as the predictor handles them: Open Inference Protocol datatypes over typed arrays,
 * row-major, batch along the first dimension. They cross the transporter and thread
 * boundaries as typed arrays, never as JSON number arrays.
 */
import type { OipDatatype } from "../model-spec/model-schema";

/** The typed array (or string list, for BYTES) that holds each datatype's values. */
export interface TensorDataByType {
	BOOL: Uint8Array;
	UINT8: Uint8Array;
	UINT16: Uint16Array;
	UINT32: Uint32Array;
	UINT64: BigUint64Array;
	INT8: Int8Array;
	INT16: Int16Array;
	INT32: Int32Array;
	INT64: BigInt64Array;
	/** FP16 values travel as their IEEE half-precision bit patterns. */
	FP16: Uint16Array;
	FP32: Float32Array;
	FP64: Float64Array;
	BYTES: string[];
}

export type TensorData = TensorDataByType[OipDatatype];

export interface Tensor {
	name: string;
	datatype: OipDatatype;
	/** Concrete dimensions (no -1): the first is the batch. */
	shape: number[];
	/** Row-major values; length = product of shape. */
	data: TensorData;
}

/** The constructor of each numeric datatype's array, for allocation and concatenation. */
export const TYPED_ARRAY_OF = {
	BOOL: Uint8Array,
	UINT8: Uint8Array,
	UINT16: Uint16Array,
	UINT32: Uint32Array,
	UINT64: BigUint64Array,
	INT8: Int8Array,
	INT16: Int16Array,
	INT32: Int32Array,
	INT64: BigInt64Array,
	FP16: Uint16Array,
	FP32: Float32Array,
	FP64: Float64Array,
} as const;

/** Number of elements a shape holds. */
export function elementCount(shape: readonly number[]): number {
	let count = 1;
	for (let d = 0; d < shape.length; d++) count *= shape[d];
	return count;
}

/** %TypedArray%.prototype's @@toStringTag getter: the array's own kind, from its internal slot. */
const typedArrayTag = Object.getOwnPropertyDescriptor(
	Object.getPrototypeOf(Uint8Array.prototype) as object,
	Symbol.toStringTag,
)?.get as (this: unknown) => string | undefined;

/**
 * The kind of a typed array ("Float32Array", …; a Node Buffer is the Uint8Array it is), or
 * undefined for anything else. Unlike `instanceof` it holds for arrays from another realm (a
 * worker thread's transfer, jest's sandbox, a native addon), and unlike
 * `Object.prototype.toString` it cannot be spoofed by an own @@toStringTag property; it is
 * also several times cheaper, which counts on a path taken for every request.
 */
export function typedArrayName(value: unknown): string | undefined {
	return typedArrayTag.call(value);
}
