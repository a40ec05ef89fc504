/**
 * The unit of a batch prediction: the rows of one prediction call. Rows travel as `instances`
 * (any tabular input, any row form), or — for numeric rows, most of a large CSV — as one typed
 * tensor [rows, features], which holds a chunk in one buffer instead of thousands of small
 * objects: what stays alive while a chunk is in flight is then a few buffers, not a heap full
 * of values for the garbage collector to chase.
 */
import type { OipDatatype } from "../../model-spec/model-schema";
import type { BatchRow } from "./input-rows";

/** Numeric rows as one row-major tensor. */
export interface ChunkTensor {
	name: string;
	datatype: OipDatatype;
	/** Values per row. */
	width: number;
	data: Float32Array | Float64Array;
}

/** Rows per prediction call unless the request says otherwise. */
export const DEFAULT_CHUNK_ROWS = 512;

export type ChunkPayload =
	{ kind: "instances"; instances: unknown[] } | { kind: "tensor"; tensor: ChunkTensor };

export interface BatchChunk {
	/** Every input row of the chunk, in order (those with errors too). */
	order: number[];
	/** The input row of each row in the payload, in payload order. */
	rows: number[];
	/** The rows sent; null when none could be read. */
	payload: ChunkPayload | null;
	/** Rows that could not be read, and why. */
	errors: Map<number, string>;
	/** Called once the chunk is answered: its buffers may be used again. */
	release?: () => void;
}

/** The payload of row `i` of a payload alone (to find which rows a refused chunk holds). */
export function payloadRow(payload: ChunkPayload, i: number): ChunkPayload {
	if (payload.kind === "instances")
		return { kind: "instances", instances: [payload.instances[i]] };
	const { width, data } = payload.tensor;
	return {
		kind: "tensor",
		tensor: { ...payload.tensor, data: data.subarray(i * width, (i + 1) * width) },
	};
}

/** A payload as the parameters of `predictor.infer`: `instances`, or one typed input tensor. */
export function inferParams(payload: ChunkPayload): Record<string, unknown> {
	if (payload.kind === "instances") return { instances: payload.instances };
	const { name, datatype, width, data } = payload.tensor;
	return { inputs: [{ name, datatype, shape: [data.length / width, width], data }] };
}

/** Rows gathered into chunks of `size` rows, as `instances`. */
export async function* rowChunks(
	rows: AsyncIterable<BatchRow>,
	size: number,
): AsyncGenerator<BatchChunk> {
	let chunk: BatchChunk = { order: [], rows: [], payload: null, errors: new Map() };
	let instances: unknown[] = [];
	const finish = (): BatchChunk => {
		if (instances.length > 0) chunk.payload = { kind: "instances", instances };
		const done = chunk;
		chunk = { order: [], rows: [], payload: null, errors: new Map() };
		instances = [];
		return done;
	};
	try {
		for await (const item of rows) {
			chunk.order.push(item.row);
			if ("error" in item) chunk.errors.set(item.row, item.error);
			else {
				chunk.rows.push(item.row);
				instances.push(item.instance);
			}
			if (chunk.order.length >= size) yield finish();
		}
	} catch (error) {
		// Rows read before the input broke off are answered, then the failure ends the answer.
		if (chunk.order.length > 0) yield finish();
		throw error;
	}
	if (chunk.order.length > 0) yield finish();
}
