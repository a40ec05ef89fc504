/**
 * Open Inference Protocol tensors ↔ onnxruntime tensors. FP16 travels as its bit patterns in a
 * Uint16Array both ways (onnxruntime hands back a Float16Array where the platform has one),
 * BOOL as a Uint8Array of 0/1, BYTES as a list of strings.
 */
import type * as Ort from "onnxruntime-node";
import type { Tensor, TensorData } from "../../inference/tensor";
import { oipDatatypeOfOrtType } from "../../onnx/onnx-element-types";
import type { OipDatatype } from "../../model-spec/model-schema";

type OrtModule = typeof Ort;

/** The onnxruntime element type of each OIP datatype. */
export const ORT_TYPE_OF: Readonly<Record<OipDatatype, Ort.Tensor.Type>> = {
	BOOL: "bool",
	UINT8: "uint8",
	UINT16: "uint16",
	UINT32: "uint32",
	UINT64: "uint64",
	INT8: "int8",
	INT16: "int16",
	INT32: "int32",
	INT64: "int64",
	FP16: "float16",
	FP32: "float32",
	FP64: "float64",
	BYTES: "string",
};

/** The tensor as onnxruntime takes it, sharing the typed array (no copy). */
export function toOrtTensor(ort: OrtModule, tensor: Tensor): Ort.Tensor {
	const value = new ort.Tensor(ORT_TYPE_OF[tensor.datatype], tensor.data, tensor.shape);
	if (tensor.datatype === "FP16") {
		// Where Float16Array exists (Node ≥ 24), onnxruntime-common wraps FP16 bits in one, and
		// the Node binding then reads its byte length as 0 ("not enough space: expected 8, got
		// 0"; microsoft/onnxruntime PR #32323). The binding takes the Uint16Array itself.
		(value as unknown as { cpuData: unknown }).cpuData = tensor.data;
	}
	return value;
}

/**
 * An onnxruntime output as an OIP tensor. Each typed array gets a buffer of its own (copied
 * when it shares one with another output or spans only part of it), so that a worker thread
 * can transfer the buffers without taking a neighbour's along.
 * @param claimed the buffers earlier outputs of the same run already hold (this one's is added);
 *   null for a run's only output
 */
export function fromOrtTensor(
	name: string,
	value: Ort.Tensor,
	claimed: Set<ArrayBufferLike> | null,
): Tensor {
	const datatype = oipDatatypeOfOrtType(value.type);
	if (datatype === undefined)
		throw new TypeError(`output '${name}' has element type ${value.type}, which OIP lacks`);
	const shape = [...value.dims];
	const data = value.data;
	if (Array.isArray(data)) return { name, datatype, shape, data: [...(data as string[])] };
	let view = data as Exclude<TensorData, string[]>;
	if (datatype === "FP16" && Object.prototype.toString.call(view) !== "[object Uint16Array]")
		view = new Uint16Array(view.buffer, view.byteOffset, view.length);
	if (
		claimed?.has(view.buffer) ||
		view.byteOffset !== 0 ||
		view.byteLength !== view.buffer.byteLength
	)
		view = view.slice();
	claimed?.add(view.buffer);
	return { name, datatype, shape, data: view };
}
