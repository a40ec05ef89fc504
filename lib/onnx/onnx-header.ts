/**
 * Reads the top level of an ONNX file (ModelProto) without loading it: IR version, opsets and
 * producer, while it checks that every top-level field fits inside the file. The graph, which
 * holds the weights, is skipped by seeking, so a file of gigabytes costs a few small reads.
 */
import * as fs from "node:fs/promises";
import type { OnnxOpsetImport } from "./onnx-writer";
import { ProtobufDecodeError, ProtobufReader } from "./protobuf-reader";
import { WireType } from "./protobuf-writer";

export interface OnnxHeader {
	irVersion: number;
	producerName?: string;
	producerVersion?: string;
	domain?: string;
	modelVersion?: number;
	opsetImports: OnnxOpsetImport[];
	/** Size of the serialized GraphProto. */
	graphBytes: number;
}

/** ModelProto fields: number → name and wire type. Others are skipped (newer ONNX versions). */
const MODEL_FIELDS: Readonly<Record<number, { name: string; wireType: number }>> = {
	1: { name: "ir_version", wireType: WireType.VARINT },
	2: { name: "producer_name", wireType: WireType.LENGTH_DELIMITED },
	3: { name: "producer_version", wireType: WireType.LENGTH_DELIMITED },
	4: { name: "domain", wireType: WireType.LENGTH_DELIMITED },
	5: { name: "model_version", wireType: WireType.VARINT },
	6: { name: "doc_string", wireType: WireType.LENGTH_DELIMITED },
	7: { name: "graph", wireType: WireType.LENGTH_DELIMITED },
	8: { name: "opset_import", wireType: WireType.LENGTH_DELIMITED },
	14: { name: "metadata_props", wireType: WireType.LENGTH_DELIMITED },
	20: { name: "training_info", wireType: WireType.LENGTH_DELIMITED },
	25: { name: "functions", wireType: WireType.LENGTH_DELIMITED },
};

/** Fields whose value is read; the rest are only measured and skipped. */
const READ_FIELDS = new Set([2, 3, 4, 8]);
/** Longer than this, a string or opset field is not what it claims to be. */
const MAX_SMALL_FIELD_BYTES = 1 << 20;

/** @throws ProtobufDecodeError when the file is not a complete ModelProto. */
export async function readOnnxHeader(filePath: string): Promise<OnnxHeader> {
	const file = await fs.open(filePath, "r");
	try {
		const { size } = await file.stat();
		const header: OnnxHeader = { irVersion: -1, opsetImports: [], graphBytes: -1 };
		const head = new Uint8Array(20);
		let position = 0;
		while (position < size) {
			const { bytesRead } = await file.read(head, 0, head.byteLength, position);
			const atEnd = bytesRead < head.byteLength;
			const reader = new ProtobufReader(head.subarray(0, bytesRead), position);
			const { field, wireType } = truncationAware(atEnd, position, () => reader.tag());
			const known = MODEL_FIELDS[field];
			if (known !== undefined && known.wireType !== wireType)
				throw new ProtobufDecodeError(
					`ModelProto field ${known.name} has wire type ${wireType}, expected ${known.wireType}, at byte ${position}`,
				);
			if (wireType === WireType.VARINT) {
				const value = truncationAware(atEnd, position, () => reader.int());
				if (field === 1) header.irVersion = value;
				if (field === 5) header.modelVersion = value;
				position += reader.position;
				continue;
			}
			if (wireType !== WireType.LENGTH_DELIMITED) {
				position += reader.position + (wireType === WireType.FIXED32 ? 4 : 8);
				continue;
			}
			const length = truncationAware(atEnd, position, () => reader.uint());
			const start = position + reader.position;
			if (start + length > size)
				throw new ProtobufDecodeError(
					`ModelProto field ${known?.name ?? field} at byte ${position} claims ${length} bytes but the file ends ${size - start} bytes later: the file is truncated`,
				);
			if (READ_FIELDS.has(field)) {
				if (length > MAX_SMALL_FIELD_BYTES)
					throw new ProtobufDecodeError(
						`ModelProto field ${known?.name ?? field} at byte ${position} is implausibly large (${length} bytes)`,
					);
				const value = new Uint8Array(length);
				await file.read(value, 0, length, start);
				readSmallField(header, field, value, start);
			}
			if (field === 7) header.graphBytes = length;
			position = start + length;
		}
		if (position > size)
			throw new ProtobufDecodeError(`the last field runs past the end of the file`);
		if (header.irVersion < 0) throw new ProtobufDecodeError("ModelProto has no ir_version");
		if (header.graphBytes < 0) throw new ProtobufDecodeError("ModelProto has no graph");
		return header;
	} finally {
		await file.close();
	}
}

/** A field header cut off by the end of the file is a truncated file, and is called so. */
function truncationAware<T>(atEnd: boolean, position: number, read: () => T): T {
	try {
		return read();
	} catch (error) {
		if (atEnd && error instanceof ProtobufDecodeError && /truncated|remain/.test(error.message))
			throw new ProtobufDecodeError(
				`the file ends inside the field that starts at byte ${position}: the file is truncated`,
			);
		throw error;
	}
}

function readSmallField(header: OnnxHeader, field: number, value: Uint8Array, offset: number) {
	const text = () => new TextDecoder("utf-8").decode(value);
	if (field === 2) header.producerName = text();
	else if (field === 3) header.producerVersion = text();
	else if (field === 4) header.domain = text();
	else if (field === 8) header.opsetImports.push(readOpsetImport(value, offset));
}

function readOpsetImport(bytes: Uint8Array, offset: number): OnnxOpsetImport {
	const reader = new ProtobufReader(bytes, offset);
	const opset: OnnxOpsetImport = { domain: "", version: 0 };
	while (!reader.done) {
		const { field, wireType } = reader.tag();
		if (field === 1 && wireType === WireType.LENGTH_DELIMITED) opset.domain = reader.string();
		else if (field === 2 && wireType === WireType.VARINT) opset.version = reader.int();
		else reader.skip(wireType);
	}
	return opset;
}
