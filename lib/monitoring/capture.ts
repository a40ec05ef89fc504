/**
 * Payload capture on the node that serves: a sampled prediction's tensors (inputs as the
 * client sent them, outputs as answered — their bytes copied, a memcpy each: requests over
 * `maxValues` keep their metadata only), its id, version, time and latency, written into its
 * model's batch (lib/monitoring/capture-batch.ts) in a bounded buffer that a timer flushes off
 * the predict path. A full buffer drops the record and counts
 * it: capture never blocks or slows a prediction. Rows by feature name are made only when the
 * captures are read (drift windows, feedback, the export), from the version's schema.
 */
import type { Tensor } from "../inference/tensor";
import type { TensorSpec } from "../model-spec/model-schema";
import { CaptureBatchWriter } from "./capture-batch";

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
	inputs: readonly CapturedTensor[] | null;
	outputs: readonly CapturedTensor[] | null;
	/** The error type of a prediction that failed on the server; null for an answer. */
	error: string | null;
}

export interface CaptureOptions {
	/** Records the buffer holds before it drops new ones. Default 10 000. */
	maxPending: number;
	/** Records per batch, and per flush call. Default 500. */
	maxBatch: number;
	/** A batch is sealed once it holds this many bytes. Default 4 MiB. */
	maxBatchBytes: number;
	/** Requests with more values than this (inputs and outputs together) keep no rows. Default 4096. */
	maxValues: number;
}

export const DEFAULT_CAPTURE_OPTIONS: Readonly<CaptureOptions> = Object.freeze({
	maxPending: 10_000,
	maxBatch: 500,
	maxBatchBytes: 4 * 1024 * 1024,
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

/** A batch as the buffer sends it: one tenant's model, one day, its captures as bytes. */
export interface CaptureBatch {
	tenant: string;
	model: string;
	/** The captures, written by a CaptureBatchWriter (lib/monitoring/capture-batch.ts). */
	payload: Uint8Array;
}

const DAY_MS = 86_400_000;

/** The batch being written for one tenant's model: its day, its writer. */
interface OpenBatch {
	day: number;
	writer: CaptureBatchWriter;
}

/**
 * The bounded buffer between the predict path and the store. `offer` is O(1) and never waits:
 * it writes the record into its model's open batch (its tensors' bytes copied in), so nothing
 * per record stays on the heap until the flush. A batch is sealed when it holds `maxBatch`
 * records or `maxBatchBytes`, when its day ends, or at the flush; `flush` sends the sealed
 * batches, up to `maxBatch` records a call (one call at a time: a slow store makes the buffer
 * fill and drop, not the predictions wait).
 */
export class CaptureBuffer {
	private readonly open = new Map<string, Map<string, OpenBatch>>();
	private sealed: { batch: CaptureBatch; count: number }[] = [];
	/** The size of the batch sealed last. */
	private lastBatchBytes = 16 * 1024;
	/** Records offered and neither sent nor lost yet. */
	private pending = 0;
	private flushing: Promise<void> | null = null;
	private readonly options: CaptureOptions;
	readonly counts: CaptureCounts = { captured: 0, dropped: 0, sent: 0, failed: 0 };

	constructor(
		private readonly send: (batches: CaptureBatch[]) => Promise<void>,
		options: Partial<CaptureOptions> = {},
	) {
		this.options = { ...DEFAULT_CAPTURE_OPTIONS, ...options };
	}

	/**
	 * Takes a record (its tensors are copied now: the caller may reuse its buffers), or drops
	 * and counts it when the buffer is full.
	 */
	offer(record: CapturedPrediction): boolean {
		if (this.pending >= this.options.maxPending) {
			this.counts.dropped++;
			return false;
		}
		let models = this.open.get(record.tenant);
		if (models === undefined) {
			models = new Map();
			this.open.set(record.tenant, models);
		}
		const day = Math.floor(record.at / DAY_MS);
		let batch = models.get(record.model);
		if (batch !== undefined && batch.day !== day) {
			this.seal(record.tenant, record.model, batch);
			batch = undefined;
		}
		if (batch === undefined) {
			// Sized as the last batch was: the bytes are not copied as they grow.
			batch = { day, writer: new CaptureBatchWriter(this.lastBatchBytes) };
			models.set(record.model, batch);
		}
		batch.writer.append(record, this.options.maxValues);
		this.pending++;
		this.counts.captured++;
		const { writer } = batch;
		if (writer.count >= this.options.maxBatch || writer.size >= this.options.maxBatchBytes)
			this.seal(record.tenant, record.model, batch);
		return true;
	}

	/** Records waiting to be sent. */
	get size(): number {
		return this.pending;
	}

	/** Sends everything pending; a flush already running is joined, not doubled. */
	flush(): Promise<void> {
		for (const [tenant, models] of this.open)
			for (const [model, batch] of models) this.seal(tenant, model, batch);
		this.flushing ??= this.drain().finally(() => {
			this.flushing = null;
		});
		return this.flushing;
	}

	private seal(tenant: string, model: string, batch: OpenBatch): void {
		this.lastBatchBytes = Math.min(batch.writer.size, this.options.maxBatchBytes);
		const models = this.open.get(tenant);
		models?.delete(model);
		if (models?.size === 0) this.open.delete(tenant);
		this.sealed.push({
			batch: { tenant, model, payload: batch.writer.bytes() },
			count: batch.writer.count,
		});
	}

	private async drain(): Promise<void> {
		while (this.sealed.length > 0) {
			// Whole batches, up to maxBatch records a call (at least one batch).
			let records = this.sealed[0].count;
			let taken = 1;
			while (
				taken < this.sealed.length &&
				records + this.sealed[taken].count <= this.options.maxBatch
			)
				records += this.sealed[taken++].count;
			const group = this.sealed.splice(0, taken);
			this.pending -= records;
			try {
				await this.send(group.map(g => g.batch));
				this.counts.sent += records;
			} catch {
				// The store is away: these records are lost (counted), the next ones try again.
				this.counts.failed += records;
				return;
			}
		}
	}
}
