/**
 * An embedded (PGlite) metadata database made once and copied for each test node and store.
 * A new one costs seconds, most of them waiting for initdb's writes to reach the disk (13 s on
 * the shared 2-core machine under load, for 1 s of CPU); a copy of one already made and
 * migrated opens in under 1 s. The copy is the database a first start makes (initdb, then
 * every migration) and the node still opens it and applies the migrations it lacks, so nothing
 * a test checks changes. Tests that start a node on an empty data directory of their own
 * (studies-restart, gateway, encryption-at-rest) still make theirs from nothing.
 *
 * The template lives under the OS temp directory, named by a hash of PGlite's version, the
 * migrations and the code that applies them, so a change to any of them makes a new one.
 * Whichever test needs it first makes it; an atomic rename settles a race between jest workers.
 */
import { createHash, randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { openDatabase } from "../../lib/db/database";
import { MIGRATIONS } from "../../lib/db/migrations";
import { REPO_ROOT } from "./node-process";

/** Where `openDatabase` keeps PGlite under a data directory. */
const DB_SUBDIR = "db";

function templateDir(): string {
	const pglite = fs.readFileSync(
		path.join(REPO_ROOT, "node_modules", "@electric-sql", "pglite", "package.json"),
	);
	// How migrations are recorded is part of what a database holds, too.
	const migrate = fs.readFileSync(path.join(REPO_ROOT, "lib", "db", "migrate.ts"));
	const hash = createHash("sha256")
		.update(pglite)
		.update(migrate)
		.update(JSON.stringify(MIGRATIONS))
		.digest("hex")
		.slice(0, 16);
	return path.join(os.tmpdir(), `modelfleet-pglite-template-${hash}`);
}

/** A template's directory name (a building one has a suffix after the hash). */
const TEMPLATE_NAME = /^modelfleet-pglite-template-[0-9a-f]{16}$/;
/** How old another template must be to go: one made meanwhile may serve a suite running now. */
const STALE_TEMPLATE_MS = 24 * 3600 * 1000;

/**
 * Removes the templates of other code (other migrations, another PGlite) made more than a day
 * ago, ~40 MB each, which nothing would otherwise remove. Answers the names removed.
 */
export function removeStaleTemplates(keep: string, now = Date.now()): string[] {
	const parent = path.dirname(keep);
	const removed: string[] = [];
	for (const name of fs.readdirSync(parent)) {
		if (!TEMPLATE_NAME.test(name) || name === path.basename(keep)) continue;
		const dir = path.join(parent, name);
		try {
			if (now - fs.statSync(dir).mtimeMs < STALE_TEMPLATE_MS) continue;
			fs.rmSync(dir, { recursive: true, force: true });
			removed.push(name);
		} catch {
			// Gone meanwhile (another worker removed it): nothing to do.
		}
	}
	return removed;
}

let made: Promise<string> | null = null;

/** The template's `db` directory, made (initdb and migrations, then closed) if missing. */
function template(): Promise<string> {
	made ??= (async () => {
		const dir = templateDir();
		if (fs.existsSync(dir)) return path.join(dir, DB_SUBDIR);
		const building = `${dir}.${process.pid}-${randomUUID().slice(0, 8)}`;
		try {
			const database = await openDatabase({ databaseUrl: null, dataDir: building });
			await database.close();
			fs.renameSync(building, dir);
			removeStaleTemplates(dir);
		} catch (err) {
			// Another worker renamed its own first: theirs serves as well.
			if (!fs.existsSync(dir)) throw err;
		} finally {
			fs.rmSync(building, { recursive: true, force: true });
		}
		return path.join(dir, DB_SUBDIR);
	})();
	made.catch(() => (made = null));
	return made;
}

/**
 * Puts a copy of the migrated template where a node (or `openDatabase`) with `dataDir` keeps
 * its PGlite database; does nothing if one is there already.
 */
export async function seedPgliteDatabase(dataDir: string): Promise<void> {
	const target = path.join(dataDir, DB_SUBDIR);
	if (fs.existsSync(target)) return;
	const source = await template();
	fs.mkdirSync(dataDir, { recursive: true });
	fs.cpSync(source, target, { recursive: true });
}

/** A new data directory under the OS temp directory, its PGlite database a copy of the template. */
export async function seededDataDir(prefix: string): Promise<string> {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
	await seedPgliteDatabase(dir);
	return dir;
}
