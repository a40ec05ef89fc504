/**
 * The width of one element of each fixed-size OIP datatype, in bytes: what the binary tensor
 * extension reads and writes, and what metering counts.
 */
import type { OipDatatype } from "../model-spec/model-schema";

export type FixedDatatype = Exclude<OipDatatype, "BYTES">;

/** Bytes of one element of each fixed-size datatype. */
export const ELEMENT_BYTES: Readonly<Record<FixedDatatype, number>> = Object.freeze({
	BOOL: 1,
	UINT8: 1,
	INT8: 1,
	UINT16: 2,
	INT16: 2,
	FP16: 2,
	UINT32: 4,
	INT32: 4,
	FP32: 4,
	UINT64: 8,
	INT64: 8,
	FP64: 8,
});
