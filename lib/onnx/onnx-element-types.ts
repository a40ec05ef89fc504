/**
 * ONNX tensor element types (TensorProto.DataType) and how they map to Open Inference Protocol
 * datatypes. Types the protocol cannot carry (bfloat16, complex, float8, int4) have no entry.
 */
import type { OipDatatype } from "../model-spec/model-schema";

/** TensorProto.DataType values from onnx.proto. */
export const OnnxElementType = {
	FLOAT: 1,
	UINT8: 2,
	INT8: 3,
	UINT16: 4,
	INT16: 5,
	INT32: 6,
	INT64: 7,
	STRING: 8,
	BOOL: 9,
	FLOAT16: 10,
	DOUBLE: 11,
	UINT32: 12,
	UINT64: 13,
} as const;
export type OnnxElementType = (typeof OnnxElementType)[keyof typeof OnnxElementType];

/** OIP datatype → ONNX element type; every OIP datatype has one. */
export const ONNX_ELEMENT_TYPE_OF: Readonly<Record<OipDatatype, OnnxElementType>> = {
	BOOL: OnnxElementType.BOOL,
	UINT8: OnnxElementType.UINT8,
	UINT16: OnnxElementType.UINT16,
	UINT32: OnnxElementType.UINT32,
	UINT64: OnnxElementType.UINT64,
	INT8: OnnxElementType.INT8,
	INT16: OnnxElementType.INT16,
	INT32: OnnxElementType.INT32,
	INT64: OnnxElementType.INT64,
	FP16: OnnxElementType.FLOAT16,
	FP32: OnnxElementType.FLOAT,
	FP64: OnnxElementType.DOUBLE,
	BYTES: OnnxElementType.STRING,
};

const ORT_TO_OIP: Readonly<Record<string, OipDatatype>> = {
	bool: "BOOL",
	uint8: "UINT8",
	uint16: "UINT16",
	uint32: "UINT32",
	uint64: "UINT64",
	int8: "INT8",
	int16: "INT16",
	int32: "INT32",
	int64: "INT64",
	float16: "FP16",
	float32: "FP32",
	float64: "FP64",
	string: "BYTES",
};

/**
 * onnxruntime's names for element types (`Tensor.Type`, as in `session.inputMetadata`) → OIP.
 * undefined for the ones OIP has no datatype for (int4, uint4, bfloat16, float8 …).
 */
export function oipDatatypeOfOrtType(ortType: string): OipDatatype | undefined {
	return Object.hasOwn(ORT_TO_OIP, ortType) ? ORT_TO_OIP[ortType] : undefined;
}
