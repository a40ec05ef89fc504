/**
 * Reads a whole ONNX file (ModelProto) into the plain description that onnx-writer.ts writes,
 * so a model can be read, transformed (quantized, converted to FP16, pruned) and written back
 * with no protobuf library. It reads what modelfleet's transforms need — nodes with scalar,
 * list and tensor attributes, initializers, graph inputs and outputs, opsets, metadata — and
 * refuses, naming it, what it cannot write back (subgraphs, sparse or external tensors).
 * Field numbers are those of onnx/onnx.proto.
 */
import type { OipDatatype } from "../model-spec/model-schema";
import { ONNX_ELEMENT_TYPE_OF, OnnxElementType } from "./onnx-element-types";
import type {
	OnnxAttribute,
	OnnxDim,
	OnnxGraph,
	OnnxModelSpec,
	OnnxNode,
	OnnxOpsetImport,
	OnnxTensor,
	OnnxTensorData,
	OnnxValueInfo,
} from "./onnx-writer";
import { ProtobufDecodeError, ProtobufReader } from "./protobuf-reader";
import { WireType } from "./protobuf-writer";

/** What readOnnxModel answers: a spec writeOnnxModel takes back, with every field explicit. */
export interface ReadOnnxModel extends OnnxModelSpec {
	graph: OnnxGraph & { nodes: OnnxNode[]; initializers: OnnxTensor[] };
	opset: OnnxOpsetImport[];
	irVersion: number;
	metadata: Record<string, string>;
}

const OIP_OF_ELEMENT = new Map<number, OipDatatype>(
	Object.entries(ONNX_ELEMENT_TYPE_OF).map(([oip, element]) => [element, oip as OipDatatype]),
);

/** @throws ProtobufDecodeError when the bytes are not a ModelProto this reader can carry. */
export function readOnnxModel(bytes: Uint8Array): ReadOnnxModel {
	const reader = new ProtobufReader(bytes);
	const model: ReadOnnxModel = {
		graph: { nodes: [], initializers: [], inputs: [], outputs: [] },
		opset: [],
		irVersion: -1,
		metadata: {},
	};
	let hasGraph = false;
	while (!reader.done) {
		const { field, wireType } = reader.tag();
		if (field === 1 && wireType === WireType.VARINT) model.irVersion = reader.int();
		else if (field === 2 && wireType === WireType.LENGTH_DELIMITED)
			model.producer = reader.string();
		else if (field === 3 && wireType === WireType.LENGTH_DELIMITED)
			model.producerVersion = reader.string();
		else if (field === 6 && wireType === WireType.LENGTH_DELIMITED)
			model.docString = reader.string();
		else if (field === 7 && wireType === WireType.LENGTH_DELIMITED) {
			model.graph = readGraph(reader.bytesValue());
			hasGraph = true;
		} else if (field === 8 && wireType === WireType.LENGTH_DELIMITED)
			model.opset.push(readOpset(reader.bytesValue()));
		else if (field === 14 && wireType === WireType.LENGTH_DELIMITED) {
			const [key, value] = readStringPair(reader.bytesValue());
			model.metadata[key] = value;
		} else if (field === 25)
			throw new ProtobufDecodeError("model-local functions are not supported");
		else reader.skip(wireType);
	}
	if (model.irVersion < 0) throw new ProtobufDecodeError("ModelProto has no ir_version");
	if (!hasGraph) throw new ProtobufDecodeError("ModelProto has no graph");
	return model;
}

function readGraph(bytes: Uint8Array): ReadOnnxModel["graph"] {
	const reader = new ProtobufReader(bytes);
	const graph: ReadOnnxModel["graph"] = { nodes: [], initializers: [], inputs: [], outputs: [] };
	const inputs: OnnxValueInfo[] = [];
	const outputs: OnnxValueInfo[] = [];
	while (!reader.done) {
		const { field, wireType } = reader.tag();
		if (wireType !== WireType.LENGTH_DELIMITED) {
			reader.skip(wireType);
			continue;
		}
		if (field === 1) graph.nodes.push(readNode(reader.bytesValue()));
		else if (field === 2) graph.name = reader.string();
		else if (field === 5) graph.initializers.push(readTensor(reader.bytesValue()));
		else if (field === 11) inputs.push(readValueInfo(reader.bytesValue()));
		else if (field === 12) outputs.push(readValueInfo(reader.bytesValue()));
		else if (field === 15)
			throw new ProtobufDecodeError("sparse initializers are not supported");
		else reader.skip(wireType);
	}
	// Before IR 4 initializers were listed as inputs too; the writer declares only real inputs.
	const initialized = new Set(graph.initializers.map(t => t.name));
	return { ...graph, inputs: inputs.filter(i => !initialized.has(i.name)), outputs };
}

function readNode(bytes: Uint8Array): OnnxNode {
	const reader = new ProtobufReader(bytes);
	const inputs: string[] = [];
	const outputs: string[] = [];
	const attributes: Record<string, OnnxAttribute> = {};
	let opType = "";
	let name: string | undefined;
	let domain: string | undefined;
	while (!reader.done) {
		const { field, wireType } = reader.tag();
		if (wireType !== WireType.LENGTH_DELIMITED) reader.skip(wireType);
		else if (field === 1) inputs.push(reader.string());
		else if (field === 2) outputs.push(reader.string());
		else if (field === 3) name = reader.string();
		else if (field === 4) opType = reader.string();
		else if (field === 5) {
			const [attributeName, attribute] = readAttribute(reader.bytesValue());
			attributes[attributeName] = attribute;
		} else if (field === 7) domain = reader.string();
		else reader.skip(wireType);
	}
	return {
		opType,
		inputs,
		outputs,
		...(name !== undefined ? { name } : {}),
		...(domain ? { domain } : {}),
		...(Object.keys(attributes).length > 0 ? { attributes } : {}),
	};
}

/** AttributeProto.AttributeType values. */
const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7 };

function readAttribute(bytes: Uint8Array): [string, OnnxAttribute] {
	const reader = new ProtobufReader(bytes);
	let name = "";
	let type = 0;
	let f = 0;
	let i = 0n;
	let s = "";
	let t: OnnxTensor | undefined;
	const floats: number[] = [];
	const ints: bigint[] = [];
	while (!reader.done) {
		const { field, wireType } = reader.tag();
		if (field === 1) name = reader.string();
		else if (field === 20) type = reader.int();
		else if (field === 2) f = reader.float();
		else if (field === 3) i = BigInt.asIntN(64, reader.varint());
		else if (field === 4) s = reader.string();
		else if (field === 5) t = readTensor(reader.bytesValue());
		else if (field === 7) floats.push(...repeatedFloat(reader, wireType));
		else if (field === 8) ints.push(...repeatedVarint(reader, wireType));
		else if (field === 6 || field === 10 || field === 11)
			throw new ProtobufDecodeError(
				`attribute '${name}' holds a subgraph, which is not supported`,
			);
		else reader.skip(wireType);
	}
	const asNumber = (v: bigint) => (v >= -(2n ** 53n) && v <= 2n ** 53n ? Number(v) : v);
	switch (type) {
		case AttributeType.FLOAT:
			return [name, { type: "float", value: f }];
		case AttributeType.INT:
			return [name, { type: "int", value: asNumber(i) }];
		case AttributeType.STRING:
			return [name, { type: "string", value: s }];
		case AttributeType.TENSOR:
			if (t === undefined)
				throw new ProtobufDecodeError(`tensor attribute '${name}' has no tensor`);
			return [name, { type: "tensor", value: t }];
		case AttributeType.FLOATS:
			return [name, { type: "floats", value: floats }];
		case AttributeType.INTS:
			return [name, { type: "ints", value: ints.map(asNumber) }];
		default:
			throw new ProtobufDecodeError(`attribute '${name}' has unsupported type ${type}`);
	}
}

function repeatedFloat(reader: ProtobufReader, wireType: number): number[] {
	if (wireType !== WireType.LENGTH_DELIMITED) return [reader.float()];
	const body = reader.bytesValue();
	const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
	return Array.from({ length: body.byteLength / 4 }, (_, k) => view.getFloat32(k * 4, true));
}

function repeatedVarint(reader: ProtobufReader, wireType: number): bigint[] {
	if (wireType !== WireType.LENGTH_DELIMITED) return [BigInt.asIntN(64, reader.varint())];
	const inner = new ProtobufReader(reader.bytesValue());
	const values: bigint[] = [];
	while (!inner.done) values.push(BigInt.asIntN(64, inner.varint()));
	return values;
}

/** TensorProto → OnnxTensor; the data is copied (aligned) out of the file. */
function readTensor(bytes: Uint8Array): OnnxTensor {
	const reader = new ProtobufReader(bytes);
	const dims: number[] = [];
	let elementType = 0;
	let name = "";
	let raw: Uint8Array | null = null;
	const floats: number[] = [];
	const ints: bigint[] = [];
	const doubles: number[] = [];
	while (!reader.done) {
		const { field, wireType } = reader.tag();
		if (field === 1) dims.push(...repeatedVarint(reader, wireType).map(Number));
		else if (field === 2) elementType = reader.int();
		else if (field === 8) name = reader.string();
		else if (field === 9) raw = reader.bytesValue();
		else if (field === 4) floats.push(...repeatedFloat(reader, wireType));
		else if (field === 5 || field === 7) ints.push(...repeatedVarint(reader, wireType));
		else if (field === 10) doubles.push(...repeatedDouble(reader, wireType));
		else if (field === 13 || field === 14)
			throw new ProtobufDecodeError(
				`tensor '${name}' uses external data, which is not supported`,
			);
		else reader.skip(wireType);
	}
	const count = dims.reduce((product, dim) => product * dim, 1);
	const data = raw
		? fromRaw(elementType, raw, name)
		: fromFields(elementType, floats.length > 0 ? floats : doubles, ints, name);
	if (data.length !== count)
		throw new ProtobufDecodeError(
			`tensor '${name}' has dims [${dims.join(", ")}] but ${data.length} values`,
		);
	return { name, dims, data };
}

function repeatedDouble(reader: ProtobufReader, wireType: number): number[] {
	if (wireType !== WireType.LENGTH_DELIMITED) return [reader.double()];
	const body = reader.bytesValue();
	const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
	return Array.from({ length: body.byteLength / 8 }, (_, k) => view.getFloat64(k * 8, true));
}

function fromRaw(elementType: number, raw: Uint8Array, name: string): OnnxTensorData {
	const copy = raw.slice().buffer; // aligned, and little-endian like every host Node runs on
	switch (elementType) {
		case OnnxElementType.FLOAT:
			return new Float32Array(copy);
		case OnnxElementType.DOUBLE:
			return new Float64Array(copy);
		case OnnxElementType.INT32:
			return new Int32Array(copy);
		case OnnxElementType.INT64:
			return new BigInt64Array(copy);
		case OnnxElementType.INT8:
			return new Int8Array(copy);
		case OnnxElementType.UINT8:
			return new Uint8Array(copy);
		case OnnxElementType.FLOAT16:
			return new Uint16Array(copy);
		default:
			throw new ProtobufDecodeError(
				`tensor '${name}' has unsupported element type ${elementType}`,
			);
	}
}

/** Typed fields: float_data, int32_data (which also holds int8, uint8 and float16), int64_data. */
function fromFields(
	elementType: number,
	floats: number[],
	ints: bigint[],
	name: string,
): OnnxTensorData {
	const small = () => ints.map(Number);
	switch (elementType) {
		case OnnxElementType.FLOAT:
			return Float32Array.from(floats);
		case OnnxElementType.DOUBLE:
			return Float64Array.from(floats);
		case OnnxElementType.INT32:
			return Int32Array.from(small());
		case OnnxElementType.INT64:
			return BigInt64Array.from(ints);
		case OnnxElementType.INT8:
			return Int8Array.from(small());
		case OnnxElementType.UINT8:
			return Uint8Array.from(small());
		case OnnxElementType.FLOAT16:
			return Uint16Array.from(small());
		default:
			throw new ProtobufDecodeError(
				`tensor '${name}' has unsupported element type ${elementType}`,
			);
	}
}

function readValueInfo(bytes: Uint8Array): OnnxValueInfo {
	const reader = new ProtobufReader(bytes);
	let name = "";
	let docString: string | undefined;
	let datatype: OipDatatype = "FP32";
	let shape: OnnxDim[] | null = null;
	while (!reader.done) {
		const { field, wireType } = reader.tag();
		if (field === 1) name = reader.string();
		else if (field === 3) docString = reader.string();
		else if (field === 2) [datatype, shape] = readTensorType(reader.bytesValue(), name);
		else reader.skip(wireType);
	}
	return { name, datatype, shape, ...(docString !== undefined ? { docString } : {}) };
}

/** TypeProto → (datatype, shape); only tensor types. */
function readTensorType(bytes: Uint8Array, name: string): [OipDatatype, OnnxDim[] | null] {
	const type = new ProtobufReader(bytes);
	while (!type.done) {
		const { field, wireType } = type.tag();
		if (field !== 1) {
			type.skip(wireType);
			continue;
		}
		const tensor = new ProtobufReader(type.bytesValue());
		let element = 0;
		let shape: OnnxDim[] | null = null;
		while (!tensor.done) {
			const inner = tensor.tag();
			if (inner.field === 1) element = tensor.int();
			else if (inner.field === 2) shape = readShape(tensor.bytesValue());
			else tensor.skip(inner.wireType);
		}
		const datatype = OIP_OF_ELEMENT.get(element);
		if (datatype === undefined)
			throw new ProtobufDecodeError(
				`value '${name}' has unsupported element type ${element}`,
			);
		return [datatype, shape];
	}
	throw new ProtobufDecodeError(`value '${name}' is not a tensor`);
}

function readShape(bytes: Uint8Array): OnnxDim[] {
	const reader = new ProtobufReader(bytes);
	const dims: OnnxDim[] = [];
	while (!reader.done) {
		const { field, wireType } = reader.tag();
		if (field !== 1) {
			reader.skip(wireType);
			continue;
		}
		const dim = new ProtobufReader(reader.bytesValue());
		let value: OnnxDim = -1;
		while (!dim.done) {
			const inner = dim.tag();
			if (inner.field === 1) value = dim.int();
			else if (inner.field === 2) value = dim.string();
			else dim.skip(inner.wireType);
		}
		dims.push(value);
	}
	return dims;
}

function readOpset(bytes: Uint8Array): OnnxOpsetImport {
	const reader = new ProtobufReader(bytes);
	const opset: OnnxOpsetImport = { domain: "", version: 0 };
	while (!reader.done) {
		const { field, wireType } = reader.tag();
		if (field === 1 && wireType === WireType.LENGTH_DELIMITED) opset.domain = reader.string();
		else if (field === 2 && wireType === WireType.VARINT) opset.version = reader.int();
		else reader.skip(wireType);
	}
	return opset;
}

function readStringPair(bytes: Uint8Array): [string, string] {
	const reader = new ProtobufReader(bytes);
	let key = "";
	let value = "";
	while (!reader.done) {
		const { field, wireType } = reader.tag();
		if (field === 1 && wireType === WireType.LENGTH_DELIMITED) key = reader.string();
		else if (field === 2 && wireType === WireType.LENGTH_DELIMITED) value = reader.string();
		else reader.skip(wireType);
	}
	return [key, value];
}
