/**
 * Captured predictions as bytes: a batch of one tenant's model, one day, is written record by
 * record as the predictions are answered (the tensors' bytes copied in, a memcpy each: no
 * object per capture lives until the flush, no JSON or base64 is made), sent to the scheduler
 * as it is and stored as it is (`prediction_captures.payload_binary`, bytea). Readers decode it
 * back into the same captures, tensors typed as they were sent.
 *
 * Layout (little-endian): "MFC1", then records back to back, each
 * `u32 length` (of what follows) · `f64 at` · `f64 latencyMs` · `u32 rows` · `str predictionId`
 * · `str model` · `str version` · `str? error` · `tensors? inputs` · `tensors? outputs`, where
 * `str` is `u32 byteLength` + UTF-8 (0xFFFFFFFF: null) and `tensors` is `u16 count` (0xFFFF:
 * null) of `str name` · `str datatype` · `u8 rank` · `f64 dim`… · `u8 kind` · then for kind 0 (a
 * typed array) `u32 byteLength`, zeros to the batch's next 8-byte boundary and the bytes, for
 * kind 1 (text data) its values as a JSON array, a `str`.
 */
import { InvalidInputError } from "../errors";
import { TYPED_ARRAY_OF } from "../inference/tensor";
import type { CapturedPrediction, CapturedTensor } from "./capture";

const MAGIC = Buffer.from("MFC1", "latin1");

/** Bytes that are not a capture batch (damaged, or from a node of another release). */
function malformed(problem: string): InvalidInputError {
	return new InvalidInputError(
		`A capture batch is malformed: ${problem}; send the bytes a CaptureBatchWriter made.`,
		{ where: "capture batch" },
	);
}
const NULL_LENGTH = 0xffff_ffff;
const NULL_COUNT = 0xffff;
const RAW = 0;
const JSON_VALUES = 1;

/** What a batch holds, read from its bytes (what the store keeps beside them). */
export interface CaptureBatchSummary {
	count: number;
	/** Rows of all its captures. */
	rows: number;
	errors: number;
	firstAt: number;
	lastAt: number;
	/** The prediction ids it holds (empty ones left out). */
	predictionIds: string[];
}

/** A decoded capture: a captured prediction without its tenant (the batch's). */
export type DecodedCapture = Omit<CapturedPrediction, "tenant">;

function valueCount(tensors: readonly CapturedTensor[] | null): number {
	if (tensors === null) return 0;
	let n = 0;
	for (const t of tensors) n += t.data.length;
	return n;
}

type TypedArrayConstructor = new (buffer: ArrayBuffer) => ArrayBufferView & {
	set(values: ArrayLike<number | bigint>, offset: number): void;
};

/**
 * One batch being written: records are appended as captures come, the bytes grow (doubling)
 * and are handed over by `bytes()` once the batch is full or flushed. Written with a DataView
 * and typed views of the batch's own buffer (a tensor's bytes start on an 8-byte boundary of
 * the batch, so a typed array is copied by a view of its own kind): no call leaves JS for
 * ASCII text, and nothing is allocated per record.
 */
export class CaptureBatchWriter {
	private buf: Uint8Array<ArrayBuffer>;
	private view: DataView<ArrayBuffer>;
	/** Views of `buf` by element type, made as tensors of that type come. */
	private views = new Map<TypedArrayConstructor, ReturnType<typeof viewOf>>();
	private at = 0;
	/** Records written. */
	count = 0;

	constructor(initialBytes = 16 * 1024) {
		this.buf = new Uint8Array(roundUp8(Math.max(64, initialBytes)));
		this.view = new DataView(this.buf.buffer);
		this.buf.set(MAGIC, 0);
		this.at = MAGIC.length;
	}

	/** Bytes written so far. */
	get size(): number {
		return this.at;
	}

	/**
	 * Appends a capture; its tensors' data is copied now (the caller may reuse its buffers).
	 * A capture with more than `maxValues` values (inputs and outputs together) keeps its
	 * metadata only, as if it had no tensors.
	 */
	append(c: Omit<CapturedPrediction, "tenant">, maxValues = Infinity): void {
		const keep = valueCount(c.inputs) + valueCount(c.outputs) <= maxValues;
		const start = this.at;
		this.reserve(24);
		this.view.setFloat64(start + 4, c.at, true);
		this.view.setFloat64(start + 12, c.latencyMs, true);
		this.view.setUint32(start + 20, c.rows, true);
		this.at = start + 24;
		this.string(c.predictionId);
		this.string(c.model);
		this.string(c.version);
		this.string(c.error);
		this.tensors(keep ? c.inputs : null);
		this.tensors(keep ? c.outputs : null);
		this.view.setUint32(start, this.at - start - 4, true);
		this.count++;
	}

	/** The batch's bytes (a view of the writer's buffer: write no more after taking them). */
	bytes(): Buffer {
		return Buffer.from(this.buf.buffer, 0, this.at);
	}

	private reserve(n: number): void {
		if (this.at + n <= this.buf.length) return;
		const grown = new Uint8Array(roundUp8(Math.max(this.buf.length * 2, this.at + n)));
		grown.set(this.buf.subarray(0, this.at));
		this.buf = grown;
		this.view = new DataView(grown.buffer);
		this.views.clear();
	}

	private string(s: string | null): void {
		if (s === null) {
			this.reserve(4);
			this.view.setUint32(this.at, NULL_LENGTH, true);
			this.at += 4;
			return;
		}
		this.reserve(4 + s.length * 3);
		const { buf } = this;
		const from = this.at + 4;
		let n = 0;
		// ASCII (ids, names, datatypes): byte by byte here, cheaper than a call into the runtime.
		for (; n < s.length; n++) {
			const code = s.charCodeAt(n);
			if (code >= 0x80) break;
			buf[from + n] = code;
		}
		if (n < s.length) n = Buffer.from(buf.buffer).write(s, from, "utf8");
		this.view.setUint32(this.at, n, true);
		this.at = from + n;
	}

	private tensors(list: readonly CapturedTensor[] | null): void {
		this.reserve(2);
		if (list === null || list.length >= NULL_COUNT) {
			this.view.setUint16(this.at, NULL_COUNT, true);
			this.at += 2;
			return;
		}
		this.view.setUint16(this.at, list.length, true);
		this.at += 2;
		for (const t of list) this.tensor(t);
	}

	private tensor(t: CapturedTensor): void {
		this.string(t.name);
		this.string(t.datatype);
		const rank = Math.min(t.shape.length, 255);
		this.reserve(1 + rank * 8 + 5 + 7);
		this.view.setUint8(this.at++, rank);
		for (let d = 0; d < rank; d++, this.at += 8)
			this.view.setFloat64(this.at, t.shape[d], true);
		const { data } = t;
		if (!ArrayBuffer.isView(data)) {
			const text = JSON.stringify(
				Array.from(data as ArrayLike<number | bigint | string>, v =>
					typeof v === "bigint" ? Number(v) : v,
				),
			);
			this.view.setUint8(this.at++, JSON_VALUES);
			this.string(text);
			return;
		}
		this.view.setUint8(this.at, RAW);
		this.view.setUint32(this.at + 1, data.byteLength, true);
		this.at = roundUp8(this.at + 5);
		this.reserve(data.byteLength);
		const Kind = data.constructor as TypedArrayConstructor;
		const width = (Kind as unknown as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT;
		if (width === undefined) {
			this.buf.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), this.at);
		} else {
			let view = this.views.get(Kind);
			if (view === undefined) {
				view = viewOf(Kind, this.buf.buffer);
				this.views.set(Kind, view);
			}
			view.set(data as unknown as ArrayLike<number | bigint>, this.at / width);
		}
		this.at += data.byteLength;
	}
}

function viewOf(Kind: TypedArrayConstructor, buffer: ArrayBuffer) {
	return new Kind(buffer);
}

function roundUp8(n: number): number {
	return (n + 7) & ~7;
}

/** Reads a batch's bytes with bounds checked: a short or malformed batch throws INVALID_INPUT. */
class BatchReader {
	private at = MAGIC.length;
	private readonly buf: Buffer;

	constructor(bytes: Uint8Array) {
		this.buf = Buffer.isBuffer(bytes)
			? bytes
			: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
		if (this.buf.length < MAGIC.length || !this.buf.subarray(0, MAGIC.length).equals(MAGIC))
			throw malformed("it does not start with MFC1");
	}

	get done(): boolean {
		return this.at >= this.buf.length;
	}

	/** Moves to the next record; answers where it ends. */
	record(): number {
		const length = this.u32();
		this.need(length);
		return this.at + length;
	}

	endRecord(end: number): void {
		if (this.at !== end) throw malformed("a record's length does not match its fields");
	}

	need(n: number): void {
		if (this.at + n > this.buf.length) throw malformed("it ends inside a record");
	}

	u8(): number {
		this.need(1);
		return this.buf.readUInt8(this.at++);
	}

	u16(): number {
		this.need(2);
		const v = this.buf.readUInt16LE(this.at);
		this.at += 2;
		return v;
	}

	u32(): number {
		this.need(4);
		const v = this.buf.readUInt32LE(this.at);
		this.at += 4;
		return v;
	}

	f64(): number {
		this.need(8);
		const v = this.buf.readDoubleLE(this.at);
		this.at += 8;
		return v;
	}

	string(): string | null {
		const length = this.u32();
		if (length === NULL_LENGTH) return null;
		this.need(length);
		const s = this.buf.toString("utf8", this.at, this.at + length);
		this.at += length;
		return s;
	}

	text(): string {
		const s = this.string();
		if (s === null) throw malformed("a name is missing");
		return s;
	}

	/** The next `n` bytes, copied into a buffer of their own (aligned for any element size). */
	bytes(n: number): Uint8Array<ArrayBuffer> {
		this.need(n);
		const copy = new Uint8Array(n);
		copy.set(this.buf.subarray(this.at, this.at + n));
		this.at += n;
		return copy;
	}

	/** Skips to the next 8-byte boundary of the batch (where a tensor's bytes start). */
	align8(): void {
		this.skip(roundUp8(this.at) - this.at);
	}

	skip(n: number): void {
		this.need(n);
		this.at += n;
	}
}

function readTensor(r: BatchReader): CapturedTensor {
	const name = r.text();
	const datatype = r.text();
	const rank = r.u8();
	const shape: number[] = new Array(rank);
	for (let d = 0; d < rank; d++) shape[d] = r.f64();
	const kind = r.u8();
	if (kind === JSON_VALUES) {
		let values: unknown;
		try {
			values = JSON.parse(r.text());
		} catch {
			throw malformed("a tensor's values are not JSON");
		}
		if (!Array.isArray(values)) throw malformed("a tensor's values are not a list");
		return { name, datatype, shape, data: values as (number | string)[] };
	}
	if (kind !== RAW) throw malformed(`a tensor's data is of unknown kind ${kind}`);
	const length = r.u32();
	r.align8();
	const bytes = r.bytes(length);
	const View = TYPED_ARRAY_OF[datatype as keyof typeof TYPED_ARRAY_OF];
	if (!View) return { name, datatype, shape, data: bytes };
	if (bytes.byteLength % View.BYTES_PER_ELEMENT !== 0)
		throw malformed(`a ${datatype} tensor's bytes are not whole elements`);
	return { name, datatype, shape, data: new View(bytes.buffer) };
}

function skipTensor(r: BatchReader): void {
	r.skip(r.u32());
	r.skip(r.u32());
	r.skip(r.u8() * 8);
	const kind = r.u8();
	if (kind !== RAW && kind !== JSON_VALUES)
		throw malformed(`a tensor's data is of unknown kind ${kind}`);
	const length = r.u32();
	if (kind === RAW) r.align8();
	r.skip(length);
}

function readTensors(r: BatchReader, read: boolean): CapturedTensor[] | null {
	const count = r.u16();
	if (count === NULL_COUNT) return null;
	const out: CapturedTensor[] = [];
	for (let i = 0; i < count; i++) {
		if (read) out.push(readTensor(r));
		else skipTensor(r);
	}
	return out;
}

/** The captures of a batch, in the order they were written. */
export function decodeCaptureBatch(bytes: Uint8Array): DecodedCapture[] {
	const r = new BatchReader(bytes);
	const out: DecodedCapture[] = [];
	while (!r.done) {
		const end = r.record();
		const at = r.f64();
		const latencyMs = r.f64();
		const rows = r.u32();
		const predictionId = r.text();
		const model = r.text();
		const version = r.text();
		const error = r.string();
		const inputs = readTensors(r, true);
		const outputs = readTensors(r, true);
		r.endRecord(end);
		out.push({ predictionId, model, version, at, latencyMs, rows, inputs, outputs, error });
	}
	return out;
}

/**
 * Checks a batch's whole structure (without making its tensors) and answers what the store
 * keeps beside it. Throws INVALID_INPUT for bytes that are not a batch, or an empty one.
 */
export function summarizeCaptureBatch(bytes: Uint8Array): CaptureBatchSummary {
	const r = new BatchReader(bytes);
	const summary: CaptureBatchSummary = {
		count: 0,
		rows: 0,
		errors: 0,
		firstAt: Infinity,
		lastAt: -Infinity,
		predictionIds: [],
	};
	while (!r.done) {
		const end = r.record();
		const at = r.f64();
		r.f64();
		const rows = r.u32();
		const id = r.text();
		r.text();
		r.text();
		const error = r.string();
		readTensors(r, false);
		readTensors(r, false);
		r.endRecord(end);
		if (!Number.isFinite(at)) throw malformed("a capture's time is not a number");
		summary.count++;
		summary.rows += rows;
		if (error !== null) summary.errors++;
		summary.firstAt = Math.min(summary.firstAt, at);
		summary.lastAt = Math.max(summary.lastAt, at);
		if (id.length > 0) summary.predictionIds.push(id);
	}
	if (summary.count === 0) throw malformed("it holds no capture");
	return summary;
}
