/**
 * Payload capture on the node that serves: a sampled prediction's tensors (inputs as the
 * client sent them, outputs as answered — copied, a memcpy each: requests over `maxValues`
 * keep their metadata only), its id, version, time and latency, kept in a bounded buffer that
 * a timer flushes in batches off the predict path. A full buffer drops the record and counts
 * it: capture never blocks or slows a prediction. Rows by feature name are made only when the
 * captures are read (drift windows, feedback, the export), from the version's schema.
 */
import type { Tensor } from "../inference/tensor";
import type { TensorSpec } from "../model-spec/model-schema";

/** One row: each value by name (a feature, or an output); vectors as arrays. */
export type CaptureRow = Record<string, number | string | null | (number | string | null)[]>;

/** A captured tensor: its data copied (typed arrays stay typed until stored). */
export interface CapturedTensor {
	name: string;
	datatype: string;
	shape: number[];
	data: ArrayLike<number | bigint | string>;
}

export interface CapturedPrediction {
	predictionId: string;
	tenant: string;
	model: string;
	/** The exact version that answered. */
	version: string;
	/** When the answer was made, ms since the epoch. */
	at: number;
	latencyMs: number;
	rows: number;
	/** The request's tensors (null: too large to capture, or failed before decoding). */
	inputs: CapturedTensor[] | null;
	outputs: CapturedTensor[] | null;
	/** The error type of a prediction that failed on the server; null for an answer. */
	error: string | null;
}

export interface CaptureOptions {
	/** Records the buffer holds before it drops new ones. Default 10 000. */
	maxPending: number;
	/** Records per flush call. Default 500. */
	maxBatch: number;
	/** Requests with more values than this (inputs and outputs together) keep no rows. Default 4096. */
	maxValues: number;
}

export const DEFAULT_CAPTURE_OPTIONS: Readonly<CaptureOptions> = Object.freeze({
	maxPending: 10_000,
	maxBatch: 500,
	maxValues: 4096,
});

function valueAt(tensor: CapturedTensor, i: number): number | string | null {
	const v = tensor.data[i];
	if (typeof v === "bigint") return Number(v);
	if (typeof v !== "number") return typeof v === "string" ? v : null;
	if (!Number.isFinite(v)) return null;
	// A float32 holds 3.1 as 3.0999999046…: read as the decimal the client sent (7 digits
	// round-trip a float32), or values on a baseline's bin edge would fall in the next bin.
	return tensor.datatype === "FP32" ? Number(v.toPrecision(7)) : v;
}

function countValues(tensors: readonly Tensor[]): number {
	let n = 0;
	for (const t of tensors) n += t.data.length;
	return n;
}

/**
 * Tensors as rows: a tensor whose spec names features gives one column per feature; any other
 * gives one column named after the tensor (a scalar per row, or the row's values as an array).
 */
export function tensorRows(
	tensors: readonly CapturedTensor[],
	rows: number,
	specs: readonly TensorSpec[] = [],
): CaptureRow[] {
	const out: CaptureRow[] = Array.from({ length: rows }, () => ({}));
	for (const tensor of tensors) {
		const width = rows > 0 ? Math.floor(tensor.data.length / rows) : 0;
		const features = specs.find(s => s.name === tensor.name)?.features;
		for (let r = 0; r < rows; r++) {
			const row = out[r];
			const base = r * width;
			if (features && features.length === width) {
				for (let j = 0; j < width; j++) row[features[j].name] = valueAt(tensor, base + j);
			} else if (width === 1) {
				row[tensor.name] = valueAt(tensor, base);
			} else {
				const values: (number | string | null)[] = new Array(width);
				for (let j = 0; j < width; j++) values[j] = valueAt(tensor, base + j);
				row[tensor.name] = values;
			}
		}
	}
	return out;
}

/** What the served model hands the capture hook for one answered request. */
export interface AnsweredRequest {
	inputs: readonly Tensor[];
	outputs: readonly Tensor[];
	rows: number;
	inputSpecs: readonly TensorSpec[];
}

/** A tensor's own copy: typed data copied (one memcpy), text data as a new array. */
function copyTensor(t: Tensor): CapturedTensor {
	// Every typed array and a string array have slice(): a copy of the same kind.
	const data = (t.data as unknown as { slice(): ArrayLike<number | bigint | string> }).slice();
	return { name: t.name, datatype: t.datatype, shape: [...t.shape], data };
}

/**
 * Copies of an answered request's tensors, or nulls when it is too large to keep. Copies: the
 * caller may reuse its buffers once the answer is out.
 */
export function captureTensorsOf(
	answered: AnsweredRequest,
	maxValues: number,
): { inputs: CapturedTensor[] | null; outputs: CapturedTensor[] | null } {
	if (countValues(answered.inputs) + countValues(answered.outputs) > maxValues)
		return { inputs: null, outputs: null };
	return { inputs: answered.inputs.map(copyTensor), outputs: answered.outputs.map(copyTensor) };
}

export interface CaptureCounts {
	/** Records taken into the buffer. */
	captured: number;
	/** Records dropped because the buffer was full. */
	dropped: number;
	/** Records handed to the store. */
	sent: number;
	/** Records lost because the store refused or was unreachable. */
	failed: number;
}

/**
 * The bounded buffer between the predict path and the store. `offer` is O(1) and never waits;
 * `flush` sends what is pending in batches (one at a time: a slow store makes the buffer fill
 * and drop, not the predictions wait).
 */
export class CaptureBuffer {
	private pending: CapturedPrediction[] = [];
	private flushing: Promise<void> | null = null;
	readonly counts: CaptureCounts = { captured: 0, dropped: 0, sent: 0, failed: 0 };

	constructor(
		private readonly send: (batch: CapturedPrediction[]) => Promise<void>,
		private readonly options: CaptureOptions = DEFAULT_CAPTURE_OPTIONS,
	) {}

	/** Takes a record, or drops and counts it when the buffer is full. */
	offer(record: CapturedPrediction): boolean {
		if (this.pending.length >= this.options.maxPending) {
			this.counts.dropped++;
			return false;
		}
		this.pending.push(record);
		this.counts.captured++;
		return true;
	}

	get size(): number {
		return this.pending.length;
	}

	/** Sends everything pending; a flush already running is joined, not doubled. */
	flush(): Promise<void> {
		this.flushing ??= this.drain().finally(() => {
			this.flushing = null;
		});
		return this.flushing;
	}

	private async drain(): Promise<void> {
		while (this.pending.length > 0) {
			const batch = this.pending.splice(0, this.options.maxBatch);
			try {
				await this.send(batch);
				this.counts.sent += batch.length;
			} catch {
				// The store is away: these records are lost (counted), the next ones try again.
				this.counts.failed += batch.length;
				return;
			}
		}
	}
}
