/**
 * The bytes a prediction moves, as metering counts them: tensor bytes at each datatype's
 * width (BYTES: the strings' UTF-16 length), whatever the wire format — so JSON and binary
 * requests of the same tensors count the same. Tabular `instances` count 4 bytes a value.
 */
import { ELEMENT_BYTES } from "../inference/element-bytes";
import type { Tensor } from "../inference/tensor";

const WIDTH: Readonly<Record<string, number>> = ELEMENT_BYTES;

/** Leaves of nested JSON arrays (a row's values), and the string lengths among them. */
function leafBytes(value: unknown, width: number): number {
	if (Array.isArray(value)) {
		let total = 0;
		for (const item of value) total += leafBytes(item, width);
		return total;
	}
	if (typeof value === "string") return value.length;
	if (value !== null && typeof value === "object") {
		if (ArrayBuffer.isView(value)) return value.byteLength;
		let total = 0;
		for (const item of Object.values(value)) total += leafBytes(item, width);
		return total;
	}
	return width;
}

/** The input bytes of a request in Open Inference Protocol form (`inputs` or `instances`). */
export function requestBytes(request: unknown): number {
	if (request === null || typeof request !== "object") return 0;
	const { inputs, instances } = request as { inputs?: unknown; instances?: unknown };
	if (Array.isArray(inputs)) {
		let total = 0;
		for (const input of inputs) {
			if (input === null || typeof input !== "object") continue;
			const { datatype, data } = input as { datatype?: unknown; data?: unknown };
			total += leafBytes(data, WIDTH[String(datatype)] ?? 4);
		}
		return total;
	}
	return Array.isArray(instances) ? leafBytes(instances, 4) : 0;
}

/** The output bytes of an answer. */
export function responseBytes(outputs: readonly Tensor[]): number {
	let total = 0;
	for (const output of outputs) total += leafBytes(output.data, WIDTH[output.datatype] ?? 4);
	return total;
}
