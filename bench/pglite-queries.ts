/**
 * What a drizzle query costs on the embedded database (PGlite) of an all-in-one node, through
 * drizzle on the plain client (drizzle passes its type parsers with every query, which PGlite
 * merges into a copy of its own) and through the client nodes give drizzle
 * (lib/db/pglite-drizzle-client.ts). A primary-key select of one row, in alternating blocks.
 */
import { PGlite } from "@electric-sql/pglite";
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/pglite";
import { pgliteDrizzleClient } from "../lib/db/pglite-drizzle-client";
import { fixed, median } from "./support/stats";

const BLOCK = 2000;
const ROUNDS = 7;

export async function runPgliteQueries(): Promise<string> {
	const plain = await PGlite.create();
	const tuned = await PGlite.create();
	const setUp = `CREATE TABLE t (id int PRIMARY KEY, name text, at timestamptz);
		INSERT INTO t SELECT g, 'model-' || g, now() FROM generate_series(1, 100) g;`;
	await plain.exec(setUp);
	await tuned.exec(setUp);
	const targets = [
		{ name: "drizzle on the plain PGlite client", db: drizzle({ client: plain }) },
		{
			name: "drizzle on pgliteDrizzleClient",
			db: drizzle({ client: pgliteDrizzleClient(tuned) }),
		},
	];
	const micros = targets.map((): number[] => []);
	try {
		for (let round = 0; round <= ROUNDS; round++) {
			for (const [i, target] of targets.entries()) {
				const started = process.hrtime.bigint();
				for (let n = 0; n < BLOCK; n++)
					await target.db.execute(
						sql`SELECT id, name, at FROM t WHERE id = ${(n % 100) + 1}`,
					);
				const us = Number(process.hrtime.bigint() - started) / 1000 / BLOCK;
				if (round > 0) micros[i].push(us); // round 0 warms up
			}
		}
	} finally {
		await plain.close();
		await tuned.close();
	}
	const lines = [
		`### drizzle queries on PGlite (a primary-key select; median of ${ROUNDS} alternating blocks of ${BLOCK})`,
		"",
		"| client | µs per query (median) | blocks |",
		"| --- | ---: | --- |",
		...targets.map(
			(t, i) =>
				`| ${t.name} | ${fixed(median(micros[i]), 1)} | ${micros[i].map(v => fixed(v, 0)).join(", ")} |`,
		),
	];
	return lines.join("\n");
}
