/** The raw SQL a migration run needs; PostgreSQL's and PGlite's clients both provide it. */
export interface MigrationConnection {
	/** Runs one or more statements, no parameters. */
	exec(sql: string): Promise<void>;
	query<T>(sql: string, params?: unknown[]): Promise<T[]>;
}

/** A fixed key for pg_advisory_lock: every node that migrates takes the same one. */
export const MIGRATION_LOCK_KEY = 7_301_947_261;

/**
 * Applies the migrations not yet applied, each in its own transaction, in order. With
 * `lock`, a PostgreSQL advisory lock makes control nodes that start together take turns:
 * the second finds the work done.
 */
export async function applyMigrations(
	connection: MigrationConnection,
	migrations: readonly { id: string; up: string }[],
	options: { lock: boolean },
): Promise<string[]> {
	if (options.lock) await connection.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY]);
	try {
		await connection.exec(
			"CREATE TABLE IF NOT EXISTS schema_migrations (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
		);
		const applied = new Set(
			(await connection.query<{ id: string }>("SELECT id FROM schema_migrations")).map(
				row => row.id,
			),
		);
		const done: string[] = [];
		for (const migration of migrations) {
			if (applied.has(migration.id)) continue;
			await connection.exec("BEGIN");
			try {
				await connection.exec(migration.up);
				await connection.query("INSERT INTO schema_migrations (id) VALUES ($1)", [
					migration.id,
				]);
				await connection.exec("COMMIT");
			} catch (err) {
				await connection.exec("ROLLBACK");
				throw new Error(`Migration ${migration.id} failed: ${(err as Error).message}`, {
					cause: err,
				});
			}
			done.push(migration.id);
		}
		return done;
	} finally {
		if (options.lock)
			await connection.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY]);
	}
}

/** PostgreSQL's code for a unique-constraint violation. */
export function isUniqueViolation(err: unknown): boolean {
	for (
		let e: unknown = err;
		e !== null && typeof e === "object";
		e = (e as { cause?: unknown }).cause
	) {
		if ((e as { code?: unknown }).code === "23505") return true;
	}
	return false;
}
