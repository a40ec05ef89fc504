/**
 * Tensors back into Open Inference Protocol response outputs, for the gateway and the
 * predictor. Data is always flat, row-major. JSON has no BigInt, half floats or NaN, so:
 * INT64/UINT64 become numbers where exactly representable (|v| ≤ 2^53 - 1), else decimal
 * strings; FP16 bit patterns become the numbers they stand for; BOOL becomes true/false;
 * NaN and ±Infinity become null.
 */
import { fromHalfBits } from "./fp16";
import type { OipInferenceResponse, OipResponseOutput } from "./oip-messages";
import type { Tensor } from "./tensor";

type JsonValue = OipResponseOutput["data"][number];

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function finiteOrNull(value: number): number | null {
	return Number.isFinite(value) ? value : null;
}

/** `data` mapped into a plain array: a counted loop (Array.from's iterator costs more per value). */
function mapped<T>(data: ArrayLike<T>, map: (value: T) => JsonValue): JsonValue[] {
	const out = new Array<JsonValue>(data.length);
	for (let i = 0; i < data.length; i++) out[i] = map(data[i]);
	return out;
}

const isTrue = (v: number): boolean => v !== 0;
const int64Value = (v: bigint): number | string =>
	v <= MAX_SAFE && v >= -MAX_SAFE ? Number(v) : v.toString();
const halfValue = (bits: number): number | null => finiteOrNull(fromHalfBits(bits));
const asIs = (v: number): number => v;

function encodeData(tensor: Tensor): JsonValue[] {
	const { datatype, data } = tensor;
	switch (datatype) {
		case "BYTES":
			return [...(data as string[])];
		case "BOOL":
			return mapped(data as Uint8Array, isTrue);
		case "INT64":
		case "UINT64":
			return mapped(data as BigInt64Array | BigUint64Array, int64Value);
		case "FP16":
			return mapped(data as Uint16Array, halfValue);
		case "FP32":
		case "FP64":
			return mapped(data as Float32Array | Float64Array, finiteOrNull);
		default:
			return mapped(data as Uint8Array, asIs);
	}
}

/** One tensor as a response output. */
export function encodeOutputTensor(
	tensor: Tensor,
	parameters?: Record<string, unknown>,
): OipResponseOutput {
	return {
		name: tensor.name,
		shape: [...tensor.shape],
		datatype: tensor.datatype,
		data: encodeData(tensor),
		...(parameters && { parameters }),
	};
}

export interface InferenceResponseParts {
	modelName: string;
	modelVersion?: string;
	/** The request's id, echoed. */
	id?: string;
	parameters?: Record<string, unknown>;
	outputs: readonly Tensor[];
	/** The output names the request asked for, in its order; all outputs when left out. */
	requested?: readonly string[];
}

/** The whole response body; outputs the request did not ask for are left out. */
export function encodeInferenceResponse(parts: InferenceResponseParts): OipInferenceResponse {
	const chosen = parts.requested ? chosenOutputs(parts.outputs, parts.requested) : parts.outputs;
	// Keys set in the order the JSON lists them.
	const response: Partial<OipInferenceResponse> = { model_name: parts.modelName };
	if (parts.modelVersion !== undefined) response.model_version = parts.modelVersion;
	if (parts.id !== undefined) response.id = parts.id;
	if (parts.parameters !== undefined) response.parameters = parts.parameters;
	const outputs = new Array<OipResponseOutput>(chosen.length);
	for (let i = 0; i < chosen.length; i++) outputs[i] = encodeOutputTensor(chosen[i]);
	response.outputs = outputs;
	return response as OipInferenceResponse;
}

/** The outputs a request named, in its order (names it has no output for left out). */
function chosenOutputs(outputs: readonly Tensor[], requested: readonly string[]): Tensor[] {
	const byName = new Map(outputs.map(t => [t.name, t]));
	return requested.flatMap(name => byName.get(name) ?? []);
}
