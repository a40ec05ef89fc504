/**
 * Runs the same tests on both metadata engines: embedded PGlite always, the real PostgreSQL
 * server when it answers (CI requires it). Each test file gets a fresh database of its own.
 */
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Client } from "pg";
import { openDatabase, type Database } from "../../lib/db/database";
import { describeWithServices, serviceUrl } from "./external-services";
import { seedPgliteDatabase } from "./pglite-template";

/** A new, empty PostgreSQL database on the test server; returns its URL and a drop function. */
export async function createPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
	const adminUrl = serviceUrl("postgres");
	const name = `mf_test_${randomUUID().replace(/-/g, "").slice(0, 16)}`;
	const admin = new Client({ connectionString: adminUrl });
	await admin.connect();
	await admin.query(`CREATE DATABASE ${name}`);
	await admin.end();
	const url = new URL(adminUrl);
	url.pathname = `/${name}`;
	return {
		url: url.toString(),
		drop: async () => {
			const client = new Client({ connectionString: adminUrl });
			await client.connect();
			await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
			await client.end();
		},
	};
}

export function describeOnEachEngine(name: string, body: (database: () => Database) => void): void {
	describe(`${name} (PGlite)`, () => {
		let database: Database;
		const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mf-pglite-"));
		beforeAll(async () => {
			// A copy of a migrated database: a new one costs seconds of initdb.
			await seedPgliteDatabase(dataDir);
			database = await openDatabase({ databaseUrl: null, dataDir });
		});
		afterAll(async () => {
			await database?.close();
			fs.rmSync(dataDir, { recursive: true, force: true });
		});
		body(() => database);
	});

	describeWithServices(["postgres"], `${name} (PostgreSQL)`, () => {
		let database: Database;
		let drop: () => Promise<void>;
		beforeAll(async () => {
			const created = await createPostgresDatabase();
			drop = created.drop;
			database = await openDatabase({ databaseUrl: created.url, dataDir: os.tmpdir() });
		});
		afterAll(async () => {
			await database?.close();
			await drop?.();
		});
		body(() => database);
	});
}
