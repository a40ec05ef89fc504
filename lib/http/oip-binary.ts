/**
 * The binary tensor data extension of the Open Inference Protocol (Triton's
 * docs/protocol/extension_binary_data.md): a JSON header of `Inference-Header-Content-Length`
 * bytes, then the raw tensors, little-endian, row-major, in the order the JSON names them.
 * An input says `parameters.binary_data_size`; an output is sent back as binary when the
 * request asks with `parameters.binary_data_output` (all outputs) or the output's own
 * `parameters.binary_data`. BOOL is one byte per element; BYTES elements are a 4-byte
 * little-endian length and the bytes.
 *
 * Inputs become views over the body (no copy) where their offset suits the element size, else
 * one copy; the predictor takes typed arrays as they are.
 */
import { InvalidInputError } from "../errors";
import { invalidValue } from "../inference/input-location";
import type { OipResponseOutput } from "../inference/oip-messages";
import {
	encodeInferenceResponse,
	encodeOutputTensor,
	type InferenceResponseParts,
} from "../inference/response-encoder";
import { TYPED_ARRAY_OF, type Tensor, type TensorData } from "../inference/tensor";
import { OIP_DATATYPES } from "../model-spec/model-schema";
import { ELEMENT_BYTES, type FixedDatatype } from "../inference/element-bytes";
import { DEFAULT_MAX_JSON_DEPTH, parseClientJson } from "../json-policy";

/** The header that gives the JSON part's length, lower-case as Node hands headers over. */
export const INFERENCE_HEADER_LENGTH = "inference-header-content-length";

/** What `GET /v2` advertises for this extension. */
export const BINARY_TENSOR_EXTENSION = "binary_tensor_data";

const LITTLE_ENDIAN_HOST = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** Reverses the bytes of each element in place: little-endian wire order ↔ a big-endian host's. */
function swapElements(bytes: Uint8Array, size: number): void {
	for (let i = 0; i < bytes.length; i += size) bytes.subarray(i, i + size).reverse();
}

/**
 * The `Inference-Header-Content-Length` value as a byte count; null when the header is absent
 * (a plain JSON body). Throws 400 for anything but one non-negative integer.
 */
export function parseHeaderLength(value: string | string[] | undefined): number | null {
	if (value === undefined) return null;
	const text = Array.isArray(value) ? value.join(",") : value;
	const trimmed = text.trim();
	const length = /^\d{1,15}$/.test(trimmed) ? Number(trimmed) : NaN;
	if (!Number.isSafeInteger(length))
		throw new InvalidInputError(
			`Inference-Header-Content-Length is ${JSON.stringify(text.slice(0, 40))}; expected the byte length of the JSON header, a whole number.`,
			{ where: "Inference-Header-Content-Length" },
		);
	return length;
}

/** The body's JSON text parsed under the decoding policy; 400 when it is not JSON or the policy refuses it. */
function parseJson(text: Buffer, what: string, maxDepth: number): unknown {
	return parseClientJson(text, {
		what,
		maxDepth,
		expected: "expected an inference request object.",
	});
}

/** A fixed-size tensor's bytes as its datatype's typed array: a view when aligned, else one copy. */
function typedFromBytes(datatype: FixedDatatype, bytes: Buffer, where: string): TensorData {
	const size = ELEMENT_BYTES[datatype];
	if (bytes.length % size !== 0)
		throw invalidValue(
			where,
			`binary_data_size ${bytes.length} is not a multiple of ${size}, the bytes of one ${datatype} element`,
		);
	const Typed = TYPED_ARRAY_OF[datatype];
	const count = bytes.length / size;
	if (LITTLE_ENDIAN_HOST && bytes.byteOffset % size === 0)
		return new Typed(bytes.buffer as ArrayBuffer, bytes.byteOffset, count);
	const copy = new Typed(count);
	const raw = new Uint8Array(copy.buffer, 0, copy.byteLength);
	raw.set(bytes);
	if (!LITTLE_ENDIAN_HOST && size > 1) swapElements(raw, size);
	return copy;
}

/** BYTES elements: each a 4-byte little-endian length, then that many bytes (read as UTF-8). */
export function decodeBytesElements(bytes: Buffer, where: string): string[] {
	const values: string[] = [];
	let at = 0;
	while (at < bytes.length) {
		if (at + 4 > bytes.length)
			throw invalidValue(
				where,
				`BYTES element ${values.length} at byte ${at} has ${bytes.length - at} byte(s) where its 4-byte length should be; expected each element as a 4-byte little-endian length and its bytes`,
			);
		const length = bytes.readUInt32LE(at);
		if (at + 4 + length > bytes.length)
			throw invalidValue(
				where,
				`BYTES element ${values.length} says ${length} bytes but only ${bytes.length - at - 4} remain in its binary_data_size`,
			);
		values.push(bytes.toString("utf8", at + 4, at + 4 + length));
		at += 4 + length;
	}
	return values;
}

function isRecord(value: unknown): value is Record<string, unknown> {
	return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The inputs of a parsed JSON header with their binary data attached as `data`: typed arrays
 * for fixed-size datatypes, strings for BYTES. Throws 400 naming the input when a size is
 * wrong, runs past the body, or the sizes do not add up to the binary part.
 */
export function attachBinaryInputs(header: unknown, binary: Buffer): unknown {
	const inputs = isRecord(header) ? header.inputs : undefined;
	if (!Array.isArray(inputs)) {
		if (binary.length === 0) return header;
		throw new InvalidInputError(
			`The body carries ${binary.length} bytes after its JSON header but the header has no inputs array; expected inputs whose parameters.binary_data_size add up to ${binary.length}.`,
			{ where: "inputs" },
		);
	}
	let at = 0;
	const attached = inputs.map((input: unknown, i) => {
		if (!isRecord(input) || !isRecord(input.parameters)) return input;
		const size = input.parameters.binary_data_size;
		if (size === undefined) return input;
		const where = `inputs[${i}] '${typeof input.name === "string" ? input.name.slice(0, 256) : "?"}'`;
		if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0)
			throw invalidValue(
				where,
				`parameters.binary_data_size is ${JSON.stringify(size)?.slice(0, 40)}; expected a byte count, a whole number ≥ 0`,
			);
		if (input.data !== undefined)
			throw invalidValue(
				where,
				"has both data and parameters.binary_data_size; expected one of them",
			);
		const datatype = input.datatype;
		if (
			typeof datatype !== "string" ||
			!(OIP_DATATYPES as readonly string[]).includes(datatype)
		)
			throw invalidValue(
				where,
				`datatype ${JSON.stringify(datatype)?.slice(0, 40)} has no binary form; expected one of ${OIP_DATATYPES.join(", ")}`,
			);
		if (at + size > binary.length)
			throw invalidValue(
				where,
				`parameters.binary_data_size ${size} runs past the end of the body: ${binary.length - at} byte(s) of binary data are left for it`,
			);
		const bytes = binary.subarray(at, at + size);
		at += size;
		const data =
			datatype === "BYTES"
				? decodeBytesElements(bytes, where)
				: typedFromBytes(datatype as FixedDatatype, bytes, where);
		return { ...input, data };
	});
	if (at !== binary.length)
		throw new InvalidInputError(
			`The body carries ${binary.length} bytes of binary tensor data but the inputs' parameters.binary_data_size add up to ${at}; expected them to match.`,
			{ where: "inputs", binaryBytes: binary.length, declaredBytes: at },
		);
	return { ...(header as Record<string, unknown>), inputs: attached };
}

/**
 * An inference request body: JSON when `headerLength` is null, else a JSON header of that many
 * bytes followed by binary tensor data. Throws 400 for anything malformed.
 */
export function parseInferBody(
	body: Buffer,
	headerLength: number | null,
	maxDepth: number = DEFAULT_MAX_JSON_DEPTH,
): unknown {
	if (headerLength === null) return parseJson(body, "The request body", maxDepth);
	if (headerLength > body.length)
		throw new InvalidInputError(
			`Inference-Header-Content-Length is ${headerLength} but the body holds only ${body.length} bytes; expected the length of the JSON header, at most the body's length.`,
			{ where: "Inference-Header-Content-Length" },
		);
	const header = parseJson(body.subarray(0, headerLength), "The JSON header", maxDepth);
	return attachBinaryInputs(header, body.subarray(headerLength));
}

/** Whether the request asks for an output as binary: its own `binary_data`, else `binary_data_output`. */
export function binaryOutputChooser(request: unknown): (name: string) => boolean {
	const body = isRecord(request) ? request : {};
	const all = isRecord(body.parameters) && body.parameters.binary_data_output === true;
	const own = new Map<string, boolean>();
	if (Array.isArray(body.outputs))
		for (const output of body.outputs)
			if (
				isRecord(output) &&
				typeof output.name === "string" &&
				isRecord(output.parameters) &&
				typeof output.parameters.binary_data === "boolean"
			)
				own.set(output.name, output.parameters.binary_data);
	return name => own.get(name) ?? all;
}

/** A tensor's values as wire bytes: a view of a typed array, or BYTES elements length-prefixed. */
export function tensorBytes(tensor: Tensor): Buffer {
	if (tensor.datatype === "BYTES") {
		const parts = (tensor.data as string[]).map(s => Buffer.from(s, "utf8"));
		const out = Buffer.allocUnsafe(parts.reduce((n, p) => n + 4 + p.length, 0));
		let at = 0;
		for (const part of parts) {
			out.writeUInt32LE(part.length, at);
			part.copy(out, at + 4);
			at += 4 + part.length;
		}
		return out;
	}
	const view = tensor.data as Exclude<TensorData, string[]>;
	const bytes = Buffer.from(view.buffer, view.byteOffset, view.byteLength);
	if (LITTLE_ENDIAN_HOST || ELEMENT_BYTES[tensor.datatype] === 1) return bytes;
	const copy = Buffer.from(bytes);
	swapElements(copy, ELEMENT_BYTES[tensor.datatype]);
	return copy;
}

/** A response body with binary outputs, and the length of its JSON header. */
export interface BinaryResponse {
	body: Buffer;
	headerLength: number;
}

/**
 * The response with the chosen outputs as binary after the JSON header (the others keep their
 * JSON data), or null when no output is binary and the caller answers plain JSON.
 */
export function encodeBinaryResponse(
	parts: InferenceResponseParts,
	binary: (name: string) => boolean,
): BinaryResponse | null {
	if (!parts.outputs.some(t => binary(t.name))) return null;
	const chunks: Buffer[] = [];
	const outputs: (OipResponseOutput | Omit<OipResponseOutput, "data">)[] = parts.outputs.map(
		tensor => {
			if (!binary(tensor.name)) return encodeOutputTensor(tensor);
			const bytes = tensorBytes(tensor);
			chunks.push(bytes);
			return {
				name: tensor.name,
				shape: [...tensor.shape],
				datatype: tensor.datatype,
				parameters: { binary_data_size: bytes.length },
			};
		},
	);
	const header = { ...encodeInferenceResponse({ ...parts, outputs: [] }), outputs };
	const json = Buffer.from(JSON.stringify(header), "utf8");
	return { body: Buffer.concat([json, ...chunks]), headerLength: json.length };
}
