/**
 * The ownership records of blobs (lib/artifacts/artifact-owners.ts) and migration 0006, which
 * records for each tenant the blobs its versions, datasets and checkpoints already name — on
 * PGlite and on the real PostgreSQL server.
 */
import { randomUUID } from "node:crypto";
import { PGlite } from "@electric-sql/pglite";
import { Client } from "pg";
import { ArtifactOwnerStore } from "../../../lib/artifacts/artifact-owners";
import { applyMigrations, type MigrationConnection } from "../../../lib/db/migrate";
import { MIGRATIONS } from "../../../lib/db/migrations";
import { tenants } from "../../../lib/db/schema";
import { createPostgresDatabase, describeOnEachEngine } from "../../support/databases";
import { describeWithServices } from "../../support/external-services";

const sha = (c: string) => c.repeat(64);

describeOnEachEngine("ArtifactOwnerStore", database => {
	let owners: ArtifactOwnerStore;
	const a = randomUUID();
	const b = randomUUID();

	beforeAll(async () => {
		owners = new ArtifactOwnerStore(database().db);
		const { db } = database();
		await db.insert(tenants).values([
			{ id: a, name: `owners-a-${a}` },
			{ id: b, name: `owners-b-${b}` },
		]);
	});

	it("claims a blob once per tenant and answers whether it was new to that tenant", async () => {
		expect(await owners.claim(a, sha("1"))).toBe(true);
		expect(await owners.claim(a, sha("1"))).toBe(false);
		expect(await owners.claim(b, sha("1"))).toBe(true);
		expect(await owners.owns(a, sha("1"))).toBe(true);
		expect(await owners.owns(b, sha("2"))).toBe(false);
	});

	it("forgets every holder of a blob", async () => {
		await owners.claim(a, sha("3"));
		await owners.claim(b, sha("3"));
		await owners.forget(sha("3"));
		expect(await owners.owns(a, sha("3"))).toBe(false);
		expect(await owners.owns(b, sha("3"))).toBe(false);
		expect(await owners.owns(a, sha("1"))).toBe(true);
	});

	it("answers no for a tenant id that is no uuid, without asking the database", async () => {
		expect(await owners.owns("not-a-uuid", sha("1"))).toBe(false);
		expect(await owners.claim("not-a-uuid", sha("1"))).toBe(false);
	});
});

/** Rows of an installation made before 0006: every place a blob was named by hash. */
const BEFORE_0006 = (t: { a: string; b: string; model: string; dataset: string }) => `
INSERT INTO tenants (id, name) VALUES ('${t.a}', 'a'), ('${t.b}', 'b');
INSERT INTO models (id, tenant_id, name, task, framework)
	VALUES ('${t.model}', '${t.a}', 'm', 'classification', 'onnx');
INSERT INTO model_versions (id, tenant_id, model_id, version, state, format, artifact_sha256,
		artifact_size, schema, pipeline, metrics, lineage, resources, details)
	VALUES
	('${randomUUID()}', '${t.a}', '${t.model}', '1.0.0', 'Draft', 'onnx', '${sha("a")}', 1,
		'{}', '{}', '[]', '{}', '{}',
		'{"alternates": [{"format": "tfjs", "artifact": {"sha256": "${sha("b")}", "size": 1}}, {"format": "x"}]}'),
	('${randomUUID()}', '${t.a}', '${t.model}', '1.1.0', 'Draft', 'onnx', NULL, NULL,
		'{}', '{}', '[]', '{}', '{}', '{"alternates": "not a list"}');
INSERT INTO datasets (id, tenant_id, name, version, sha256, size, format, rows, report)
	VALUES ('${t.dataset}', '${t.b}', 'd', 1, '${sha("c")}', 1, 'csv', 1, '{}');
INSERT INTO training_jobs (id, tenant_id, model_name, dataset_id, spec, priority, gpu, state, checkpoint)
	VALUES
	('${randomUUID()}', '${t.b}', 'm', '${t.dataset}', '{}', 0, false, 'running',
		'{"sha256": "${sha("d")}", "epoch": 2, "size": 1}'),
	('${randomUUID()}', '${t.b}', 'm', '${t.dataset}', '{}', 0, false, 'queued', NULL);
`;

/** Applies the migrations before 0006, adds rows, applies 0006; answers the ownership rows. */
async function backfilled(connection: MigrationConnection): Promise<string[]> {
	const t = { a: randomUUID(), b: randomUUID(), model: randomUUID(), dataset: randomUUID() };
	const before = MIGRATIONS.slice(
		0,
		MIGRATIONS.findIndex(m => m.id === "0006-artifact-owners"),
	);
	await applyMigrations(connection, before, { lock: false });
	await connection.exec(BEFORE_0006(t));
	await applyMigrations(connection, MIGRATIONS, { lock: false });
	const rows = await connection.query<{ tenant_id: string; sha256: string }>(
		"SELECT tenant_id, sha256 FROM artifact_owners ORDER BY sha256",
	);
	const name = (id: string) => (id === t.a ? "a" : id === t.b ? "b" : id);
	return rows.map(r => `${name(r.tenant_id)} ${r.sha256.slice(0, 1)}`);
}

const EXPECTED = ["a a", "a b", "b c", "b d"];

describe("migration 0006 (PGlite)", () => {
	it("records for each tenant the blobs its versions, exports, datasets and checkpoints name", async () => {
		const client = await PGlite.create();
		try {
			const rows = await backfilled({
				exec: async text => {
					await client.exec(text);
				},
				query: async <T>(text: string, params: unknown[] = []) =>
					(await client.query<T>(text, params)).rows,
			});
			expect(rows).toEqual(EXPECTED);
		} finally {
			await client.close();
		}
	});
});

describeWithServices(["postgres"], "migration 0006 (PostgreSQL)", () => {
	it("records for each tenant the blobs its versions, exports, datasets and checkpoints name", async () => {
		const created = await createPostgresDatabase();
		const client = new Client({ connectionString: created.url });
		await client.connect();
		try {
			const rows = await backfilled({
				exec: async text => {
					await client.query(text);
				},
				query: async <T>(text: string, params: unknown[] = []) =>
					(await client.query(text, params)).rows as T[],
			});
			expect(rows).toEqual(EXPECTED);
		} finally {
			await client.end();
			await created.drop();
		}
	});
});
