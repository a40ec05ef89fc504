import * as fs from "node:fs";
import * as path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { drizzle as drizzlePostgres } from "drizzle-orm/node-postgres";
import { Pool, type PoolClient } from "pg";
import { InvalidConfigurationError } from "../errors";
import { MIGRATIONS } from "./migrations";
import { applyMigrations, type MigrationConnection } from "./migrate";
import { pgliteDrizzleClient } from "./pglite-drizzle-client";
import { resolvePostgresConnection, type PostgresTls } from "./postgres-connection";
import { dbSchema } from "./schema";

/** The drizzle database both engines give: the same query code runs on either. */
export type Db = PgDatabase<PgQueryResultHKT, typeof dbSchema>;

export interface Database {
	db: Db;
	engine: "postgres" | "pglite";
	/** The server URL without password, or the PGlite directory. */
	location: string;
	/**
	 * PGlite: the node's data directory, where data kept beside the embedded database lives
	 * (captured payloads, lib/monitoring/capture-files.ts). Null on PostgreSQL, whose nodes
	 * share nothing but the server.
	 */
	localDir: string | null;
	/**
	 * Runs one statement on the driver itself, past drizzle's query builder: for the hot path
	 * that stores captures, where the builder's work per statement cost more than the statement. Parameters as the drivers
	 * take them: text, numbers, null, and Buffers (bound as binary bytea by both).
	 */
	run(text: string, params: readonly unknown[]): Promise<void>;
	close(): Promise<void>;
}

export interface DatabaseOptions {
	/** postgres://… — unset: embedded PGlite under `<dataDir>/db`. */
	databaseUrl: string | null;
	dataDir: string;
}

/** PostgreSQL's type id of bytea. */
const BYTEA = 17;

/**
 * PGlite's own bytea conversions go through a JS string of hex pairs, byte by byte (tens of
 * ns a byte); these keep bytes as bytes. A parameter left as a Uint8Array is bound in
 * binary form by PGlite (a memcpy), as node-postgres does with a Buffer; a result (text form,
 * `\x` and hex) is decoded natively.
 */
const BYTEA_SERIALIZER = {
	[BYTEA]: (value: Uint8Array) => value as unknown as string,
};
const BYTEA_PARSER = {
	[BYTEA]: (text: string) => Buffer.from(text.slice(2), "hex"),
};

/** Opens the metadata database and brings its schema up to date before anything uses it. */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
	if (options.databaseUrl) {
		const pool = await connectPostgres(options.databaseUrl);
		const url = new URL(options.databaseUrl);
		url.password = "";
		return {
			db: drizzlePostgres(pool, { schema: dbSchema }) as unknown as Db,
			engine: "postgres",
			location: url.toString(),
			localDir: null,
			run: async (text, params) => {
				await pool.query(text, params as unknown[]);
			},
			close: () => pool.end(),
		};
	}

	const dir = path.join(options.dataDir, "db");
	fs.mkdirSync(dir, { recursive: true });
	const client = await PGlite.create(dir, {
		serializers: BYTEA_SERIALIZER,
		parsers: BYTEA_PARSER,
	});
	try {
		await applyMigrations(pgliteConnection(client), MIGRATIONS, { lock: false });
	} catch (err) {
		await client.close();
		throw err;
	}
	return {
		// drizzle's type parsers held by the client once, not copied in with every query.
		db: drizzlePglite({
			client: pgliteDrizzleClient(client),
			schema: dbSchema,
		}) as unknown as Db,
		engine: "pglite",
		location: dir,
		localDir: options.dataDir,
		run: async (text, params) => {
			await client.query(text, params as unknown[]);
		},
		close: () => client.close(),
	};
}

/**
 * A pool on the server of DATABASE_URL, TLS as its sslmode says, with the schema brought up
 * to date (under the migration lock) on its first connection. With `allow` or `prefer`, a
 * first attempt that fails is made again the other way (plain, or TLS), as libpq does.
 */
async function connectPostgres(databaseUrl: string): Promise<Pool> {
	const problems: string[] = [];
	const connection = resolvePostgresConnection(databaseUrl, problem => problems.push(problem));
	if (connection === null)
		throw new InvalidConfigurationError(
			problems.map(problem => ({ setting: "DATABASE_URL", problem })),
		);
	const connect = async (ssl: PostgresTls): Promise<{ pool: Pool; client: PoolClient }> => {
		const pool = new Pool({ connectionString: connection.connectionString, ssl, max: 10 });
		pool.on("error", () => {
			// An idle client lost its server; the pool replaces it on the next query.
		});
		try {
			return { pool, client: await pool.connect() };
		} catch (err) {
			await pool.end();
			throw err;
		}
	};
	let opened: { pool: Pool; client: PoolClient };
	try {
		opened = await connect(connection.ssl);
	} catch (err) {
		if (connection.fallbackSsl === null) throw err;
		opened = await connect(connection.fallbackSsl).catch(() => Promise.reject(err));
	}
	const { pool, client } = opened;
	try {
		await applyMigrations(pgConnection(client), MIGRATIONS, { lock: true });
	} catch (err) {
		client.release();
		await pool.end();
		throw err;
	}
	client.release();
	return pool;
}

function pgConnection(client: PoolClient): MigrationConnection {
	return {
		exec: async text => {
			await client.query(text);
		},
		query: async <T>(text: string, params: unknown[] = []) =>
			(await client.query(text, params)).rows as T[],
	};
}

function pgliteConnection(client: PGlite): MigrationConnection {
	return {
		exec: async text => {
			await client.exec(text);
		},
		query: async <T>(text: string, params: unknown[] = []) =>
			(await client.query<T>(text, params)).rows,
	};
}
