/**
 * The order of the runs list (`GET /api/v1/runs`, docs/studies.md) as SQL over `training_jobs`:
 * by creation or by a final metric, either way, runs without the metric last and ties newest
 * first; and its keyset cursor (where the last page ended: the sort value and the job's
 * sequence), so each page is one query however many jobs the tenant has.
 */
import { and, asc, desc, isNull, lt, or, sql, type SQL } from "drizzle-orm";
import { trainingJobs } from "../db/schema";
import { InvalidCursorError, InvalidInputError } from "../errors";
import { decodeNameCursor, encodeCursor } from "../registry/registry-scope";

/** The list's `sort` and `order` as the request gives them. */
export interface RunOrder {
	/** `metric:<name>` (a final metric) or `createdAt` (default). */
	sort?: string;
	/** Default `desc`. */
	order?: "asc" | "desc";
}

export interface RunSort {
	/** `createdAt` or `metric:<name>`, as cursors name it. */
	name: string;
	/** The final metric sorted by; null: creation order. */
	metric: string | null;
	direction: "asc" | "desc";
}

/** Where a page ended: the last run's sort value (null: without the metric) and sequence. */
export interface RunPosition {
	value: number | null;
	seq: number;
}

/** The request's `sort` and `order`; 400 for a sort that is neither `createdAt` nor `metric:<name>`. */
export function runSortOf(order: RunOrder): RunSort {
	const direction = order.order ?? "desc";
	if (order.sort === undefined || order.sort === "createdAt")
		return { name: "createdAt", metric: null, direction };
	const match = /^metric:([\w.-]{1,64})$/.exec(order.sort);
	if (!match)
		throw new InvalidInputError(
			`sort must be createdAt or metric:<name> (e.g. metric:val_accuracy); got ${JSON.stringify(order.sort)}`,
			{ field: "sort" },
		);
	return { name: order.sort, metric: match[1], direction };
}

/** A JSON number as float8; anything else (absent, a string) as NULL, so it sorts last. */
function numberOf(value: SQL): SQL<number | null> {
	return sql<
		number | null
	>`CASE WHEN jsonb_typeof(${value}) = 'number' THEN (${value} #>> '{}')::float8 END`;
}

/**
 * A run's final metric as runOf (lib/studies/runs.ts) makes it: the last epoch's, except
 * `test_<name>`, which is the test split's `<name>` where the result has it.
 */
export function runMetric(metric: string): SQL<number | null> {
	const lastEpoch = numberOf(sql`${trainingJobs.progress} -> -1 -> 'metrics' -> ${metric}::text`);
	if (!metric.startsWith("test_")) return lastEpoch;
	const test = sql`${trainingJobs.result} -> 'metrics' -> ${metric.slice("test_".length)}::text`;
	return sql<
		number | null
	>`CASE WHEN ${test} IS NOT NULL THEN ${numberOf(test)} ELSE ${lastEpoch} END`;
}

/** ORDER BY: the value (those without it last), then newest first. */
export function runOrderBy(sort: RunSort): SQL[] {
	if (sort.metric === null)
		return [sort.direction === "desc" ? desc(trainingJobs.seq) : asc(trainingJobs.seq)];
	const value = runMetric(sort.metric);
	return [
		sql`(${value}) IS NULL`,
		sort.direction === "desc" ? sql`(${value}) DESC` : sql`(${value}) ASC`,
		desc(trainingJobs.seq),
	];
}

/** The runs after `position` in the order. */
export function runsAfter(sort: RunSort, position: RunPosition): SQL | undefined {
	const seq = trainingJobs.seq;
	if (sort.metric === null)
		return sort.direction === "desc" ? lt(seq, position.seq) : sql`${seq} > ${position.seq}`;
	const value = runMetric(sort.metric);
	if (position.value === null) return and(isNull(value), lt(seq, position.seq));
	const beyond = sort.direction === "desc" ? sql`<` : sql`>`;
	return or(
		isNull(value),
		sql`(${value}) ${beyond} ${position.value}`,
		and(sql`(${value}) = ${position.value}`, lt(seq, position.seq)),
	);
}

/** The sort value of a row read with `runMetric` selected as `sortValue`. */
export function positionOf(row: { seq: number; sortValue: number | null }): RunPosition {
	return { value: row.sortValue === null ? null : Number(row.sortValue), seq: row.seq };
}

/**
 * A cursor names its sort and order, so one handed out for another answers 400 rather than
 * a page from nowhere: `<sort>\0<order>\0<value, or empty>\0<seq>`, base64url.
 */
export function encodeRunCursor(sort: RunSort, position: RunPosition): string {
	const value = position.value === null ? "" : String(position.value);
	return encodeCursor([sort.name, sort.direction, value, position.seq].join("\u0000"));
}

const RUN_CURSOR = /^[^\0]{1,80}\0(?:asc|desc)\0[^\0]{0,40}\0\d{1,15}$/;

/** The position a cursor names; 400 (INVALID_CURSOR) for one this sort did not hand out. */
export function decodeRunCursor(
	cursor: string | undefined,
	sort: RunSort,
): RunPosition | undefined {
	const text = decodeNameCursor(cursor, RUN_CURSOR);
	if (text === undefined) return undefined;
	const [name, direction, valueText, seqText] = text.split("\u0000");
	if (name !== sort.name || direction !== sort.direction) throw new InvalidCursorError();
	const seq = Number(seqText);
	if (valueText === "") {
		return { value: null, seq };
	}
	const value = Number(valueText);
	// Only the exact text encodeRunCursor writes: a finite number, as String() gives it.
	if (sort.metric === null || !Number.isFinite(value) || String(value) !== valueText)
		throw new InvalidCursorError();
	return { value, seq };
}
