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

function encodeData(tensor: Tensor): JsonValue[] {
	const { datatype, data } = tensor;
	switch (datatype) {
		case "BYTES":
			return [...(data as string[])];
		case "BOOL":
			return Array.from(data as Uint8Array, v => v !== 0);
		case "INT64":
		case "UINT64":
			return Array.from(data as BigInt64Array | BigUint64Array, (v: bigint) =>
				v <= MAX_SAFE && v >= -MAX_SAFE ? Number(v) : v.toString(),
			);
		case "FP16":
			return Array.from(data as Uint16Array, bits => finiteOrNull(fromHalfBits(bits)));
		case "FP32":
		case "FP64":
			return Array.from(data as Float32Array | Float64Array, finiteOrNull);
		default:
			return Array.from(data as Uint8Array);
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
	const byName = new Map(parts.outputs.map(t => [t.name, t]));
	const chosen = parts.requested
		? parts.requested.flatMap(name => byName.get(name) ?? [])
		: parts.outputs;
	return {
		model_name: parts.modelName,
		...(parts.modelVersion !== undefined && { model_version: parts.modelVersion }),
		...(parts.id !== undefined && { id: parts.id }),
		...(parts.parameters !== undefined && { parameters: parts.parameters }),
		outputs: chosen.map(t => encodeOutputTensor(t)),
	};
}
