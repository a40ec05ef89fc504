/**
 * Races between processes on one PostgreSQL database, as between two control nodes: the same
 * model name created at once, an alias moved at once, migrations applied at once.
 */
import { spawn } from "node:child_process";
import * as os from "node:os";
import * as path from "node:path";
import { AccountsStore } from "../../../lib/accounts/accounts-store";
import type { Scope } from "../../../lib/accounts/access";
import { listAudit } from "../../../lib/audit/audit-log";
import { openDatabase, type Database } from "../../../lib/db/database";
import { MIGRATIONS } from "../../../lib/db/migrations";
import { schemaMigrations } from "../../../lib/db/schema";
import { ModelStore } from "../../../lib/registry/model-store";
import { VersionStore } from "../../../lib/registry/version-store";
import { createPostgresDatabase } from "../../support/databases";
import { describeWithServices } from "../../support/external-services";
import { signedMeta } from "../../support/fleet-secret";
import { REPO_ROOT } from "../../support/node-process";

type Outcome = { ok: boolean; code?: number; type?: string; result?: { version?: string } };

function race(
	databaseUrl: string,
	meta: unknown,
	calls: unknown[],
	startAt: number,
): Promise<Outcome[]> {
	return new Promise((resolve, reject) => {
		const child = spawn(
			process.execPath,
			[
				"--require",
				path.join(REPO_ROOT, "scripts", "ts-register.js"),
				path.join(__dirname, "..", "..", "support", "registry-racer.ts"),
			],
			{
				cwd: REPO_ROOT,
				env: {
					PATH: process.env.PATH ?? "",
					DATABASE_URL: databaseUrl,
					RACE_META: JSON.stringify(meta),
					RACE_CALLS: JSON.stringify(calls),
					RACE_START_AT: String(startAt),
				},
				stdio: ["ignore", "pipe", "pipe"],
			},
		);
		let output = "";
		child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
		child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
		child.once("exit", code => {
			const line = output.split("\n").find(l => l.startsWith("RACE-RESULT "));
			if (code !== 0 || !line) reject(new Error(`racer exited ${code}:\n${output}`));
			else resolve(JSON.parse(line.slice("RACE-RESULT ".length)) as Outcome[]);
		});
	});
}

const SCHEMA = {
	inputs: [{ name: "x", datatype: "FP32", shape: [-1, 1] }],
	outputs: [{ name: "y", datatype: "FP32", shape: [-1] }],
};

describeWithServices(["postgres"], "two control nodes racing on one PostgreSQL database", () => {
	let url: string;
	let drop: () => Promise<void>;
	let database: Database;
	let scope: Scope;

	beforeAll(async () => {
		({ url, drop } = await createPostgresDatabase());
		database = await openDatabase({ databaseUrl: url, dataDir: os.tmpdir() });
		const accounts = new AccountsStore(database.db);
		const boot = await accounts.bootstrap(null);
		const identity = await accounts.authenticate(boot!.key);
		scope = { tenantId: identity.tenant, role: identity.role, keyId: identity.keyId };
		await new ModelStore(database.db).create(scope, {
			name: "aliased",
			task: "other",
			framework: "onnx",
		});
		const versions = new VersionStore(database.db);
		await versions.create(scope, "aliased", {
			version: "1.0.0",
			format: "onnx",
			schema: SCHEMA as never,
		});
		await versions.create(scope, "aliased", {
			version: "2.0.0",
			format: "onnx",
			schema: SCHEMA as never,
		});
	});

	afterAll(async () => {
		await database?.close();
		await drop?.();
	});

	it("lets exactly one of two processes create the same model name; the other gets 409; an alias moved by both ends on one", async () => {
		const meta = signedMeta(scope.tenantId, "owner", scope.keyId);
		const startAt = Date.now() + 3000;
		const call = (version: string) => [
			["registry.models.create", { name: "contested", task: "other", framework: "onnx" }],
			["registry.aliases.set", { model: "aliased", alias: "champion", version }],
		];
		const [first, second] = await Promise.all([
			race(url, meta, call("1.0.0"), startAt),
			race(url, meta, call("2.0.0"), startAt),
		]);

		const creates = [first[0], second[0]];
		expect(creates.filter(o => o.ok)).toHaveLength(1);
		expect(creates.filter(o => !o.ok)).toEqual([
			expect.objectContaining({ ok: false, code: 409, type: "ALREADY_EXISTS" }),
		]);

		expect(first[1].ok && second[1].ok).toBe(true);
		const final = await new VersionStore(database.db).get(scope, "aliased", "champion");
		expect(["1.0.0", "2.0.0"]).toContain(final.version);
		const audit = await listAudit(database.db, scope.tenantId, {
			limit: 10,
			target: "alias:aliased@champion",
		});
		expect(audit.items.map(i => i.detail?.version).sort()).toEqual(["1.0.0", "2.0.0"]);
		// The move applied last is the one the alias shows.
		expect(audit.items[0].detail?.version).toBe(final.version);
		const createAudit = await listAudit(database.db, scope.tenantId, {
			limit: 10,
			target: "model:contested",
		});
		expect(createAudit.items.map(i => i.outcome).sort()).toEqual(["ALREADY_EXISTS", "ok"]);
	}, 30_000);

	it("applies migrations once when two nodes open a new database at the same moment", async () => {
		const fresh = await createPostgresDatabase();
		try {
			const both = await Promise.all([
				openDatabase({ databaseUrl: fresh.url, dataDir: os.tmpdir() }),
				openDatabase({ databaseUrl: fresh.url, dataDir: os.tmpdir() }),
			]);
			const rows = await both[0].db.select().from(schemaMigrations);
			expect(rows.map(r => r.id)).toEqual(MIGRATIONS.map(m => m.id));
			await Promise.all(both.map(d => d.close()));
		} finally {
			await fresh.drop();
		}
	});
});
