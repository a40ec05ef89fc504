/**
 * The PGlite client drizzle is given. drizzle's PGlite driver passes the same type parsers with
 * every query (timestamps, dates, intervals and their arrays kept as text, which drizzle maps
 * itself), and PGlite merges a query's parsers into a copy of its own 318 on every query: about
 * 70 – 110 µs of a query whose own work is about 80 µs (a primary-key select, measured
 * side by side). The node's PGlite is given those parsers as its own (DRIZZLE_TEXT_PARSERS,
 * after its start, which sets the parsers of array types), and this client drops them from
 * each query when they are exactly drizzle's set: the same rows, without the copy. Any other
 * parsers a query brings go through as they are. The node's other statements on that PGlite
 * (migrations, `Database.run`) read no value of those types.
 */
import type { PGlite, QueryOptions, Results, Transaction } from "@electric-sql/pglite";

/**
 * The types drizzle's PGlite driver reads as text (drizzle-orm/pglite/session.js): timestamp,
 * timestamptz, interval, date, and the arrays numeric[], timestamp[], timestamptz[],
 * interval[], date[].
 */
export const DRIZZLE_TEXT_TYPES: readonly number[] = [
	1114, 1184, 1186, 1082, 1231, 1115, 1185, 1187, 1182,
];

/** The parsers of DRIZZLE_TEXT_TYPES: the text as it is. */
export const DRIZZLE_TEXT_PARSERS: Readonly<Record<number, (text: string) => string>> =
	Object.fromEntries(DRIZZLE_TEXT_TYPES.map(type => [type, (text: string) => text]));

const TEXT_TYPE_KEYS = new Set(DRIZZLE_TEXT_TYPES.map(String));

/** Whether a query's parsers are drizzle's set (the node's PGlite has them already). */
function isDrizzleTextSet(parsers: object): boolean {
	const keys = Object.keys(parsers);
	return keys.length === TEXT_TYPE_KEYS.size && keys.every(key => TEXT_TYPE_KEYS.has(key));
}

/** A query's options without drizzle's parsers; other options as they are. */
export function withoutDrizzleParsers(options: QueryOptions | undefined): QueryOptions | undefined {
	if (options?.parsers === undefined || !isDrizzleTextSet(options.parsers)) return options;
	const rest: QueryOptions = { ...options };
	delete rest.parsers;
	return rest;
}

type Query = <T>(text: string, params?: unknown[], options?: QueryOptions) => Promise<Results<T>>;

function queryOf(target: { query: Query }): Query {
	return (text, params, options) => target.query(text, params, withoutDrizzleParsers(options));
}

/**
 * Gives a started PGlite drizzle's parsers as its own, and answers what drizzle is given for
 * it: `query` and `transaction` (whose transaction's `query` does the same); drizzle uses no more.
 */
export function pgliteDrizzleClient(client: PGlite): PGlite {
	// After the start: PGlite sets every array type's parser when it starts, over any given before.
	Object.assign(client.parsers, DRIZZLE_TEXT_PARSERS);
	const wrapped = {
		query: queryOf(client),
		transaction: <T>(callback: (tx: Transaction) => Promise<T>) =>
			client.transaction(tx =>
				callback(Object.assign(Object.create(tx) as Transaction, { query: queryOf(tx) })),
			),
	};
	return wrapped as unknown as PGlite;
}
