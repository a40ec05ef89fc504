/**
 * Captured predictions in `prediction_captures`: a row per batch a serving node flushed (per
 * tenant and model), its captures as the bytes the node wrote (lib/monitoring/capture-batch.ts;
 * rows stored before migration 0014 hold NDJSON text instead, still read) — in the row on
 * PostgreSQL, in a file of its day beside the database on an all-in-one node (PGlite,
 * lib/monitoring/capture-files.ts) — and keys of their ids (lib/monitoring/prediction-key.ts) under a GIN index,
 * partitioned by day. Storing a batch costs one row, whatever its size: a row (and its index
 * entries) per prediction would cost more than the prediction. A batch insert makes the
 * partitions of the days it holds first (once per day per process); retention drops whole
 * days; readers page by the batches' `seq` (drift windows and the export end on a batch).
 */
import * as path from "node:path";
import { and, asc, desc, eq, gt, gte, lt, or, sql } from "drizzle-orm";
import type { Database, Db } from "../db/database";
import { predictionCaptures } from "../db/schema";
import { TYPED_ARRAY_OF } from "../inference/tensor";
import type { CaptureBatch, CapturedPrediction, CapturedTensor } from "./capture";
import { CaptureBatchWriter, decodeCaptureBatch, summarizeCaptureBatch } from "./capture-batch";
import { CapturePayloadFiles } from "./capture-files";
import { predictionKeysLiteral } from "./prediction-key";

/** A capture as stored: without its tenant (the row's), with the time as ISO text. */
export interface StoredCapture extends Omit<CapturedPrediction, "tenant" | "at"> {
	/** The seq of the batch that holds it. */
	seq: number;
	at: string;
}

/** One stored batch and its captures, in the order they were made. */
export interface StoredBatch {
	seq: number;
	/** Rows of its captures that have inputs (what drift windows count). */
	rows: number;
	/** Its first capture's time, ms. */
	at: number;
	captures: StoredCapture[];
}

const DAY_MS = 86_400_000;

/** `prediction_captures_20261205` for a day's start (UTC). */
function partitionName(dayStart: number): string {
	return `prediction_captures_${new Date(dayStart).toISOString().slice(0, 10).replaceAll("-", "")}`;
}

function dayOf(at: number): number {
	return Math.floor(at / DAY_MS) * DAY_MS;
}

/** A tensor as NDJSON rows before 0014 stored it: typed data as the base64 of its bytes, else its values. */
interface StoredTensor {
	name: string;
	datatype: string;
	shape: number[];
	b64?: string;
	data?: (number | string)[];
}

function decodeTensor(t: StoredTensor): CapturedTensor {
	const { name, datatype, shape } = t;
	if (t.b64 === undefined) return { name, datatype, shape, data: t.data ?? [] };
	const View = TYPED_ARRAY_OF[datatype as keyof typeof TYPED_ARRAY_OF];
	// A copy into a buffer of its own: Buffer's pool is not aligned for every element size.
	const bytes = new Uint8Array(Buffer.from(t.b64, "base64"));
	return { name, datatype, shape, data: View ? new View(bytes.buffer) : bytes };
}

type StoredLine = Omit<StoredCapture, "seq" | "inputs" | "outputs"> & {
	inputs: StoredTensor[] | null;
	outputs: StoredTensor[] | null;
};

/** The captures of a stored row: its bytes, or the NDJSON of a row stored before 0014. */
function parseBatch(
	seq: number,
	row: { payload: string | null; bytes: Buffer | null },
): StoredCapture[] {
	if (row.bytes !== null)
		return decodeCaptureBatch(row.bytes).map(c => ({
			...c,
			at: new Date(c.at).toISOString(),
			seq,
		}));
	return (row.payload ?? "")
		.split("\n")
		.filter(text => text.length > 0)
		.map(text => {
			const stored = JSON.parse(text) as StoredLine;
			return {
				...stored,
				inputs: stored.inputs?.map(decodeTensor) ?? null,
				outputs: stored.outputs?.map(decodeTensor) ?? null,
				seq,
			};
		});
}

/** What a reader selects of a row to have its captures. */
const PAYLOAD_COLUMNS = {
	seq: predictionCaptures.seq,
	capturedAt: predictionCaptures.capturedAt,
	payload: predictionCaptures.payload,
	payloadBinary: predictionCaptures.payloadBinary,
	payloadOffset: predictionCaptures.payloadOffset,
	payloadLength: predictionCaptures.payloadLength,
};

interface StoredRow {
	seq: number;
	capturedAt: Date;
	payload: string | null;
	payloadBinary: Buffer | null;
	payloadOffset: number | null;
	payloadLength: number | null;
}

/** A batch's row; its values, `ROW_PARAMS` of them, in the order of `rowPlaceholders`. */
const INSERT =
	"INSERT INTO prediction_captures (tenant_id, model, captured_at, last_at, capture_count, row_count, error_count, prediction_ids, prediction_keys, payload_binary, payload_offset, payload_length) VALUES ";
const ROW_PARAMS = 11;

/** `($1, …)` of row i: the ids' keys as a bigint[] literal, no ids as text (since 0016). */
function rowPlaceholders(i: number): string {
	const p = (n: number) => `$${i * ROW_PARAMS + n}`;
	return `(${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)}, ${p(6)}, ${p(7)}, '{}', ${p(8)}::bigint[], ${p(9)}, ${p(10)}, ${p(11)})`;
}

export class CaptureStore {
	/** Day partitions known to exist (made here, or found). */
	private readonly days = new Set<number>();
	private readonly db: Db;
	/** On an all-in-one node (PGlite): the files payloads are kept in; null: in the rows. */
	private readonly files: CapturePayloadFiles | null;

	constructor(private readonly database: Database) {
		this.db = database.db;
		this.files =
			database.localDir === null
				? null
				: new CapturePayloadFiles(path.join(database.localDir, "captures"));
	}

	/** Closes the payload files it holds open. */
	close(): void {
		this.files?.close();
	}

	/** Stores captures (any tenants, models and days): a row per tenant, model and day. */
	async insert(captures: readonly CapturedPrediction[]): Promise<void> {
		const writers = new Map<
			string,
			{ tenant: string; model: string; writer: CaptureBatchWriter }
		>();
		for (const c of captures) {
			const key = `${c.tenant}\u0000${c.model}\u0000${dayOf(c.at)}`;
			let open = writers.get(key);
			if (open === undefined) {
				open = { tenant: c.tenant, model: c.model, writer: new CaptureBatchWriter() };
				writers.set(key, open);
			}
			open.writer.append(c);
		}
		await this.insertBatches(
			[...writers.values()].map(w => ({
				tenant: w.tenant,
				model: w.model,
				payload: w.writer.bytes(),
			})),
		);
	}

	/**
	 * Stores batches as a serving node sent them, a row each, in one statement: their bytes as
	 * they are, and beside them what the bytes hold (read from them, each checked whole first:
	 * a malformed batch is refused with INVALID_INPUT and nothing is stored).
	 */
	async insertBatches(batches: readonly CaptureBatch[]): Promise<void> {
		if (batches.length === 0) return;
		const summaries = batches.map(b => summarizeCaptureBatch(b.payload));
		for (const day of new Set(summaries.map(s => dayOf(s.firstAt)))) await this.ensureDay(day);
		const params: unknown[] = [];
		batches.forEach((b, i) => {
			const summary = summaries[i];
			const { payload } = b;
			// The bytes go to their day's file before the row that points at them.
			const place = this.files?.append(dayOf(summary.firstAt), payload) ?? null;
			params.push(
				b.tenant,
				b.model,
				new Date(summary.firstAt).toISOString(),
				new Date(summary.lastAt).toISOString(),
				summary.count,
				summary.rows,
				summary.errors,
				predictionKeysLiteral(summary.predictionIds),
				// Bound in binary by both drivers (no text form of the bytes is made).
				place !== null
					? null
					: Buffer.isBuffer(payload)
						? payload
						: Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength),
				place?.offset ?? null,
				place?.length ?? null,
			);
		});
		// One statement for all of them, on the driver itself (Database.run).
		await this.database.run(
			INSERT + batches.map((_, i) => rowPlaceholders(i)).join(", "),
			params,
		);
	}

	/** A stored row's captures: its bytes read from the row or from its day's file. */
	private parse(row: StoredRow): StoredCapture[] {
		let bytes = row.payloadBinary;
		if (row.payloadOffset !== null && row.payloadLength !== null) {
			// A file gone meanwhile (retention removed its day): as if the row were gone too.
			bytes =
				this.files?.read(dayOf(row.capturedAt.getTime()), {
					offset: row.payloadOffset,
					length: row.payloadLength,
				}) ?? null;
			if (bytes === null) return [];
		}
		return parseBatch(row.seq, { payload: row.payload, bytes });
	}

	private batchOf(row: StoredRow): StoredBatch {
		const captures = this.parse(row);
		let rows = 0;
		for (const c of captures) if (c.inputs !== null && c.error === null) rows += c.rows;
		return { seq: row.seq, rows, at: row.capturedAt.getTime(), captures };
	}

	/** Makes a day's partition; two nodes making it at once is fine (the loser finds it made). */
	private async ensureDay(day: number): Promise<void> {
		if (this.days.has(day)) return;
		const name = partitionName(day);
		const from = new Date(day).toISOString();
		const to = new Date(day + DAY_MS).toISOString();
		try {
			await this.db.execute(
				sql.raw(
					`CREATE TABLE IF NOT EXISTS ${name} PARTITION OF prediction_captures FOR VALUES FROM ('${from}') TO ('${to}')`,
				),
			);
		} catch (err) {
			if (!(await this.partitionExists(name))) throw err;
		}
		this.days.add(day);
	}

	private async partitionExists(name: string): Promise<boolean> {
		const result = await this.db.execute(
			sql`SELECT 1 FROM pg_class WHERE relname = ${name} AND relkind = 'r'`,
		);
		return (result as unknown as { rows: unknown[] }).rows.length > 0;
	}

	/** The day partitions there are, oldest first (their day starts, ms). */
	async partitions(): Promise<number[]> {
		const result = await this.db.execute(
			sql`SELECT c.relname AS name FROM pg_inherits i
				JOIN pg_class c ON c.oid = i.inhrelid
				JOIN pg_class p ON p.oid = i.inhparent
				WHERE p.relname = 'prediction_captures'`,
		);
		const days: number[] = [];
		for (const row of (result as unknown as { rows: { name: string }[] }).rows) {
			const m = /^prediction_captures_(\d{4})(\d{2})(\d{2})$/.exec(row.name);
			if (m) days.push(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
		}
		return days.sort((a, b) => a - b);
	}

	/** Drops the days wholly older than `cutoff` (ms), and their payload files; answers how many. */
	async dropBefore(cutoff: number): Promise<number> {
		let dropped = 0;
		for (const day of await this.partitions()) {
			if (day + DAY_MS > cutoff) continue;
			await this.db.execute(sql.raw(`DROP TABLE IF EXISTS ${partitionName(day)}`));
			this.days.delete(day);
			dropped++;
		}
		// After the rows: a file is never gone while a row points at it, but for a reader
		// that fetched the row just before (it reads the batch as gone).
		this.files?.dropBefore(cutoff);
		return dropped;
	}

	/** A model's batches after `afterSeq`, oldest first (optionally first captured within [from, to)). */
	async after(
		tenantId: string,
		model: string,
		afterSeq: number,
		limit: number,
		range: { from?: Date; to?: Date } = {},
	): Promise<StoredBatch[]> {
		const rows = await this.db
			.select(PAYLOAD_COLUMNS)
			.from(predictionCaptures)
			.where(
				and(
					eq(predictionCaptures.tenantId, tenantId),
					eq(predictionCaptures.model, model),
					gt(predictionCaptures.seq, afterSeq),
					...(range.from ? [gte(predictionCaptures.capturedAt, range.from)] : []),
					...(range.to ? [lt(predictionCaptures.capturedAt, range.to)] : []),
				),
			)
			.orderBy(asc(predictionCaptures.seq))
			.limit(limit);
		return rows.map(row => this.batchOf(row));
	}

	/**
	 * The captures of some prediction ids (feedback joins them): the batches holding them —
	 * found by the ids' keys, or by the ids themselves in rows stored before 0016 — searched.
	 */
	async byPredictionIds(
		tenantId: string,
		model: string,
		ids: readonly string[],
	): Promise<StoredCapture[]> {
		if (ids.length === 0) return [];
		const rows = await this.db
			.select(PAYLOAD_COLUMNS)
			.from(predictionCaptures)
			.where(
				and(
					eq(predictionCaptures.tenantId, tenantId),
					eq(predictionCaptures.model, model),
					or(
						sql`${predictionCaptures.predictionKeys} && ${predictionKeysLiteral(ids)}::bigint[]`,
						sql`${predictionCaptures.predictionIds} && ${sql.param([...ids])}::text[]`,
					),
				),
			);
		// A key two ids share finds a batch holding only the other: its captures are left out.
		const wanted = new Set(ids);
		return rows.flatMap(row => this.parse(row).filter(c => wanted.has(c.predictionId)));
	}

	/** How many batches a tenant has stored, and how many captures they hold (the capture bench). */
	async stored(tenantId: string): Promise<{ batches: number; captures: number }> {
		const [row] = await this.db
			.select({
				batches: sql<number>`count(*)::int`,
				captures: sql<number>`coalesce(sum(${predictionCaptures.captureCount}), 0)::int`,
			})
			.from(predictionCaptures)
			.where(eq(predictionCaptures.tenantId, tenantId));
		return row;
	}

	/** The newest captures of a model (at least `limit` when there are), newest first. */
	async recent(tenantId: string, model: string, limit: number): Promise<StoredCapture[]> {
		const out: StoredCapture[] = [];
		let before = Number.MAX_SAFE_INTEGER;
		// A batch holds up to hundreds of captures: read one first, then twice as many each time.
		let batches = 1;
		while (out.length < limit) {
			const rows = await this.db
				.select(PAYLOAD_COLUMNS)
				.from(predictionCaptures)
				.where(
					and(
						eq(predictionCaptures.tenantId, tenantId),
						eq(predictionCaptures.model, model),
						lt(predictionCaptures.seq, before),
					),
				)
				.orderBy(desc(predictionCaptures.seq))
				.limit(batches);
			if (rows.length === 0) break;
			batches = Math.min(batches * 2, 8);
			for (const row of rows) out.push(...this.parse(row).reverse());
			before = rows[rows.length - 1].seq;
		}
		return out;
	}
}
