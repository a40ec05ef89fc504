import { PGlite, type QueryOptions } from "@electric-sql/pglite";
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/pglite";
import {
	DRIZZLE_TEXT_PARSERS,
	DRIZZLE_TEXT_TYPES,
	pgliteDrizzleClient,
	withoutDrizzleParsers,
} from "../../../lib/db/pglite-drizzle-client";

/** A PGlite stand-in that records the options of each query. */
function recordingClient(): { client: PGlite; seen: Array<QueryOptions | undefined> } {
	const seen: Array<QueryOptions | undefined> = [];
	const query = (_text: string, _params?: unknown[], options?: QueryOptions) => {
		seen.push(options);
		return Promise.resolve({ rows: [], fields: [], affectedRows: 0 });
	};
	const client = {
		parsers: {},
		query,
		transaction: (callback: (tx: object) => Promise<unknown>) => callback({ query }),
	};
	return { client: client as unknown as PGlite, seen };
}

describe("the PGlite client drizzle is given", () => {
	it("knows drizzle's parsers: drizzle passes exactly those types, each keeping the text as it is", async () => {
		// If a drizzle upgrade changes its set, this fails, and DRIZZLE_TEXT_TYPES must follow.
		const { client, seen } = recordingClient();
		await drizzle({ client }).execute(sql`select 1`);
		const parsers = seen[0]?.parsers ?? {};
		expect(Object.keys(parsers).map(Number).sort()).toEqual([...DRIZZLE_TEXT_TYPES].sort());
		for (const parse of Object.values(parsers))
			expect(parse("2026-12-06 08:00:00+00", 1184)).toBe("2026-12-06 08:00:00+00");
	});

	it("drops drizzle's parsers from each query, in and out of transactions; other options stay", async () => {
		const { client, seen } = recordingClient();
		const db = drizzle({ client: pgliteDrizzleClient(client) });
		await db.execute(sql`select 1`);
		await db.transaction(tx => tx.execute(sql`select 2`));
		expect(seen).toEqual([{ rowMode: "object" }, { rowMode: "object" }]);

		const own = {
			parsers: { 1184: (text: string) => new Date(text) },
			rowMode: "array" as const,
		};
		expect(withoutDrizzleParsers(own)).toBe(own);
		expect(withoutDrizzleParsers(undefined)).toBeUndefined();
		const more = { parsers: { ...DRIZZLE_TEXT_PARSERS, 17: (text: string) => text } };
		expect(withoutDrizzleParsers(more)).toBe(more);
	});

	it("reads the same rows as drizzle on a plain PGlite, for every type drizzle keeps as text", async () => {
		const plain = await PGlite.create();
		const tuned = await PGlite.create();
		try {
			const setUp = `CREATE TABLE t (id int PRIMARY KEY, at timestamptz, local timestamp, day date,
				span interval, amounts numeric[], ats timestamptz[], locals timestamp[], days date[],
				spans interval[], n numeric, b bytea, j jsonb, flag boolean);
				INSERT INTO t VALUES (1, '2026-12-06 08:00:00.123+00', '2026-12-06 08:00:00', '2026-12-06',
				'1 day 02:00:00', '{1.5,2}', '{"2026-12-06 08:00:00+00"}', '{"2026-12-06 08:00:00"}',
				'{2026-12-06}', '{"1 hour"}', 3.25, '\\x0102', '{"a": [1, 2]}', true);`;
			await plain.exec(setUp);
			await tuned.exec(setUp);
			const before = drizzle({ client: plain });
			const after = drizzle({ client: pgliteDrizzleClient(tuned) });
			const select = sql`SELECT * FROM t`;
			expect((await after.execute(select)).rows).toEqual((await before.execute(select)).rows);
			const inTransaction = await after.transaction(tx => tx.execute(select));
			expect(inTransaction.rows).toEqual((await before.execute(select)).rows);
			expect((await after.execute(select)).rows[0]).toMatchObject({
				at: "2026-12-06 08:00:00.123+00",
				day: "2026-12-06",
				j: { a: [1, 2] },
				flag: true,
			});
		} finally {
			await plain.close();
			await tuned.close();
		}
	});
});
