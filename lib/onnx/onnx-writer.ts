/**
 * Writes ONNX ModelProto bytes from a plain description of a graph, with no protobuf library:
 * enough for the models modelfleet builds itself (test fixtures, exported dense networks).
 * Field numbers are those of onnx/onnx.proto.
 */
import type { OipDatatype } from "../model-spec/model-schema";
import { ONNX_ELEMENT_TYPE_OF, OnnxElementType } from "./onnx-element-types";
import { ProtobufWriter } from "./protobuf-writer";

/** A dimension: a size (≥ 0), a symbolic name such as "batch", or -1 for an unknown one. */
export type OnnxDim = number | string;

export interface OnnxValueInfo {
	name: string;
	datatype: OipDatatype;
	/** null: the rank is unknown too (e.g. an intermediate value exposed as an output). */
	shape: readonly OnnxDim[] | null;
	docString?: string;
}

/**
 * Tensor data; the array type gives the element type (FP32, FP64, INT32, INT64, INT8, UINT8),
 * except for a Uint16Array, which holds FLOAT16 bit patterns (IEEE half precision).
 */
export type OnnxTensorData =
	Float32Array | Float64Array | Int32Array | BigInt64Array | Int8Array | Uint8Array | Uint16Array;

/** A constant tensor: an initializer, or the value of a tensor attribute. */
export interface OnnxTensor {
	name: string;
	dims: readonly number[];
	data: OnnxTensorData;
}

/**
 * A node attribute with its type spelled out: ONNX rejects a float attribute written as an
 * int, and in JavaScript `1.0` and `1` are the same number. Build them with `onnxAttribute`.
 */
export type OnnxAttribute =
	| { type: "float"; value: number }
	| { type: "int"; value: number | bigint }
	| { type: "string"; value: string }
	| { type: "floats"; value: readonly number[] }
	| { type: "ints"; value: readonly (number | bigint)[] }
	| { type: "tensor"; value: OnnxTensor };

/** Builders for typed attributes: `{ alpha: onnxAttribute.float(1), transB: onnxAttribute.int(1) }`. */
export const onnxAttribute = {
	float: (value: number): OnnxAttribute => ({ type: "float", value }),
	int: (value: number | bigint): OnnxAttribute => ({ type: "int", value }),
	string: (value: string): OnnxAttribute => ({ type: "string", value }),
	floats: (value: readonly number[]): OnnxAttribute => ({ type: "floats", value }),
	ints: (value: readonly (number | bigint)[]): OnnxAttribute => ({ type: "ints", value }),
	tensor: (value: OnnxTensor): OnnxAttribute => ({ type: "tensor", value }),
};

export interface OnnxNode {
	opType: string;
	inputs: readonly string[];
	outputs: readonly string[];
	/** Default: `<opType>_<index in the graph>`. */
	name?: string;
	/** Operator domain; default "" (the ONNX domain). */
	domain?: string;
	attributes?: Readonly<Record<string, OnnxAttribute>>;
}

export interface OnnxGraph {
	/** Default "main". */
	name?: string;
	nodes: readonly OnnxNode[];
	initializers?: readonly OnnxTensor[];
	inputs: readonly OnnxValueInfo[];
	outputs: readonly OnnxValueInfo[];
}

export interface OnnxOpsetImport {
	domain: string;
	version: number;
}

export interface OnnxModelSpec {
	graph: OnnxGraph;
	/** The ONNX-domain opset version, or the full list of imports. Default DEFAULT_ONNX_OPSET. */
	opset?: number | readonly OnnxOpsetImport[];
	/** Default: the IR version that goes with the ONNX-domain opset (irVersionForOpset). */
	irVersion?: number;
	/** Default "modelfleet". */
	producer?: string;
	producerVersion?: string;
	docString?: string;
	/** Written as metadata_props. */
	metadata?: Readonly<Record<string, string>>;
}

/** Opset 17 (ONNX 1.12, IR 8): read by onnxruntime ≥ 1.13 and by onnx ≥ 1.12's checker. */
export const DEFAULT_ONNX_OPSET = 17;

/** The IR version that ONNX released with each opset (onnx/docs/Versioning.md). */
export function irVersionForOpset(opset: number): number {
	if (opset <= 8) return 3;
	if (opset <= 11) return opset - 5; // 9 → 4, 10 → 5, 11 → 6
	if (opset <= 14) return 7;
	if (opset <= 17) return 8;
	if (opset <= 19) return 9;
	if (opset <= 21) return 10;
	return 11;
}

const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

/** Encodes the model; the result is what an `.onnx` file holds. */
export function writeOnnxModel(spec: OnnxModelSpec): Uint8Array {
	const opsets: readonly OnnxOpsetImport[] =
		typeof spec.opset === "object"
			? spec.opset
			: [{ domain: "", version: spec.opset ?? DEFAULT_ONNX_OPSET }];
	const onnxOpset = opsets.find(o => o.domain === "" || o.domain === "ai.onnx");
	const irVersion = spec.irVersion ?? irVersionForOpset(onnxOpset?.version ?? DEFAULT_ONNX_OPSET);

	const model = new ProtobufWriter();
	model.int64(1, irVersion);
	model.string(2, spec.producer ?? "modelfleet");
	if (spec.producerVersion !== undefined) model.string(3, spec.producerVersion);
	if (spec.docString !== undefined) model.string(6, spec.docString);
	model.message(7, graphMessage(spec.graph));
	for (const opset of opsets) {
		model.message(8, new ProtobufWriter().string(1, opset.domain).int64(2, opset.version));
	}
	for (const [key, value] of Object.entries(spec.metadata ?? {})) {
		model.message(14, new ProtobufWriter().string(1, key).string(2, value));
	}
	return model.finish();
}

function graphMessage(graph: OnnxGraph): ProtobufWriter {
	const out = new ProtobufWriter();
	graph.nodes.forEach((node, index) => out.message(1, nodeMessage(node, index)));
	out.string(2, graph.name ?? "main");
	for (const tensor of graph.initializers ?? []) out.message(5, tensorMessage(tensor));
	for (const input of graph.inputs) out.message(11, valueInfoMessage(input));
	for (const output of graph.outputs) out.message(12, valueInfoMessage(output));
	return out;
}

function nodeMessage(node: OnnxNode, index: number): ProtobufWriter {
	const out = new ProtobufWriter();
	for (const input of node.inputs) out.string(1, input);
	for (const output of node.outputs) out.string(2, output);
	out.string(3, node.name ?? `${node.opType}_${index}`);
	out.string(4, node.opType);
	for (const [name, attribute] of Object.entries(node.attributes ?? {})) {
		out.message(5, attributeMessage(name, attribute));
	}
	if (node.domain) out.string(7, node.domain);
	return out;
}

function attributeMessage(name: string, attribute: OnnxAttribute): ProtobufWriter {
	const out = new ProtobufWriter().string(1, name);
	switch (attribute.type) {
		case "float":
			return out.float(2, attribute.value).int64(20, AttributeType.FLOAT);
		case "int":
			return out.int64(3, attribute.value).int64(20, AttributeType.INT);
		case "string":
			return out.string(4, attribute.value).int64(20, AttributeType.STRING);
		case "tensor":
			return out.message(5, tensorMessage(attribute.value)).int64(20, AttributeType.TENSOR);
		case "floats":
			return out.packedFloat(7, attribute.value).int64(20, AttributeType.FLOATS);
		case "ints":
			return out.packedInt64(8, attribute.value).int64(20, AttributeType.INTS);
	}
}

function tensorMessage(tensor: OnnxTensor): ProtobufWriter {
	const elements = tensor.dims.reduce((product, dim) => product * dim, 1);
	if (tensor.dims.some(dim => !Number.isInteger(dim) || dim < 0))
		throw new RangeError(
			`Tensor '${tensor.name}' has invalid dims [${tensor.dims.join(", ")}]`,
		);
	if (elements !== tensor.data.length)
		throw new RangeError(
			`Tensor '${tensor.name}' has dims [${tensor.dims.join(", ")}] (${elements} elements) but ${tensor.data.length} values`,
		);
	const out = new ProtobufWriter();
	out.packedInt64(1, tensor.dims);
	out.int64(2, elementTypeOfData(tensor.data));
	out.string(8, tensor.name);
	out.bytes(9, littleEndianBytes(tensor.data));
	return out;
}

function elementTypeOfData(data: OnnxTensorData): OnnxElementType {
	if (data instanceof Float32Array) return OnnxElementType.FLOAT;
	if (data instanceof Float64Array) return OnnxElementType.DOUBLE;
	if (data instanceof Int32Array) return OnnxElementType.INT32;
	if (data instanceof Int8Array) return OnnxElementType.INT8;
	if (data instanceof Uint8Array) return OnnxElementType.UINT8;
	if (data instanceof Uint16Array) return OnnxElementType.FLOAT16;
	return OnnxElementType.INT64;
}

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** raw_data is little-endian; on such hosts (all that Node supports in practice) no copy. */
function littleEndianBytes(data: OnnxTensorData): Uint8Array {
	if (HOST_IS_LITTLE_ENDIAN || data.BYTES_PER_ELEMENT === 1)
		return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
	const out = new Uint8Array(data.byteLength);
	const view = new DataView(out.buffer);
	const size = data.BYTES_PER_ELEMENT;
	for (let i = 0; i < data.length; i++) {
		if (data instanceof Float32Array) view.setFloat32(i * size, data[i], true);
		else if (data instanceof Float64Array) view.setFloat64(i * size, data[i], true);
		else if (data instanceof Int32Array) view.setInt32(i * size, data[i], true);
		else if (data instanceof Uint16Array) view.setUint16(i * size, data[i], true);
		else if (data instanceof BigInt64Array) view.setBigInt64(i * size, data[i], true);
	}
	return out;
}

function valueInfoMessage(info: OnnxValueInfo): ProtobufWriter {
	const tensorType = new ProtobufWriter().int64(1, ONNX_ELEMENT_TYPE_OF[info.datatype]);
	if (info.shape !== null) tensorType.message(2, shapeMessage(info.shape));
	const out = new ProtobufWriter()
		.string(1, info.name)
		.message(2, new ProtobufWriter().message(1, tensorType));
	if (info.docString !== undefined) out.string(3, info.docString);
	return out;
}

function shapeMessage(dims: readonly OnnxDim[]): ProtobufWriter {
	const shape = new ProtobufWriter();
	for (const dim of dims) {
		const dimension = new ProtobufWriter();
		if (typeof dim === "string") dimension.string(2, dim);
		else if (dim >= 0) dimension.int64(1, dim);
		shape.message(1, dimension);
	}
	return shape;
}
