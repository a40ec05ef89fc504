/**
 * Tensors as the predictor handles them: Open Inference Protocol datatypes over typed arrays,
 * row-major, batch along the first dimension. They cross the transporter and thread
 * boundaries as typed arrays, never as JSON number arrays.
 */
import type { OipDatatype } from "../registry/model-schema";

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
	return shape.reduce((n, d) => n * d, 1);
}
