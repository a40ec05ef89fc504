/** The registry's and accounts' stores, on PGlite and on the real PostgreSQL server. */
import { createHash, createHmac, randomUUID } from "node:crypto";
import { eq } from "drizzle-orm";
import { AccountsStore } from "../../../lib/accounts/accounts-store";
import type { Scope } from "../../../lib/accounts/access";
import { listAudit } from "../../../lib/audit/audit-log";
import { API_KEY_SECRET_NAME } from "../../../lib/accounts/key-secret";
import { apiKeys, installationSecrets, schemaMigrations } from "../../../lib/db/schema";
import { ModelStore } from "../../../lib/registry/model-store";
import type { ModelSchema } from "../../../lib/model-spec/model-schema";
import { VersionStore } from "../../../lib/registry/version-store";
import { describeOnEachEngine } from "../../support/databases";

const SCHEMA: ModelSchema = {
	inputs: [{ name: "input", datatype: "FP32", shape: [-1, 4] }],
	outputs: [{ name: "probabilities", datatype: "FP32", shape: [-1, 3] }],
};

describeOnEachEngine("registry stores", database => {
	let accounts: AccountsStore;
	let modelStore: ModelStore;
	let versions: VersionStore;
	let a: Scope;
	let b: Scope;

	beforeAll(async () => {
		const { db } = database();
		accounts = new AccountsStore(db);
		modelStore = new ModelStore(db);
		versions = new VersionStore(db);
		const boot = await accounts.bootstrap(null);
		const admin = await accounts.authenticate(boot!.key);
		const adminScope: Scope = { tenantId: admin.tenant, role: admin.role, keyId: admin.keyId };
		const ta = await accounts.createTenant(adminScope, { name: "tenant-a" });
		const tb = await accounts.createTenant(adminScope, { name: "tenant-b" });
		a = { tenantId: ta.tenant.id, role: "owner", keyId: ta.ownerKey.id };
		b = { tenantId: tb.tenant.id, role: "owner", keyId: tb.ownerKey.id };
	});

	describe("migrations", () => {
		it("are recorded once", async () => {
			const rows = await database().db.select().from(schemaMigrations);
			expect(rows.map(r => r.id)).toEqual([
				"0001-initial",
				"0002-version-serving",
				"0003-deployments",
				"0004-training",
				"0005-api-key-secret",
				"0006-artifact-owners",
				"0007-usage-and-quotas",
				"0008-control-lease",
				"0009-monitoring",
				"0010-events",
				"0011-studies",
				"0013-data-parallel",
				"0014-capture-bytes",
				"0015-version-idempotency",
				"0016-capture-keys-and-files",
			]);
		});
	});

	describe("accounts", () => {
		it("bootstraps only an empty database", async () => {
			expect(await accounts.bootstrap(null)).toBeNull();
		});

		it("shows a key once and stores only its hash and a short prefix", async () => {
			const created = await accounts.createKey(a, { name: "ci", role: "developer" });
			expect(created.key).toMatch(/^mf_[A-Za-z0-9_-]{43}$/);
			expect(created.key.startsWith(created.prefix)).toBe(true);
			const [row] = await database()
				.db.select()
				.from(apiKeys)
				.where(eq(apiKeys.id, created.id));
			expect(JSON.stringify(row)).not.toContain(created.key);
			expect((await accounts.listKeys(a)).find(k => k.id === created.id)).not.toHaveProperty(
				"key",
			);
			expect(await accounts.authenticate(created.key)).toEqual({
				tenant: a.tenantId,
				tenantName: "tenant-a",
				role: "developer",
				keyId: created.id,
			});
		});

		it("stores keys keyed (HMAC-SHA-256 under the installation's secret) with at most 8 characters shown", async () => {
			const created = await accounts.createKey(a, { name: "keyed", role: "viewer" });
			expect(created.prefix).toBe(created.key.slice(0, 8));
			const [row] = await database()
				.db.select()
				.from(apiKeys)
				.where(eq(apiKeys.id, created.id));
			const sha256 = createHash("sha256").update(created.key).digest("hex");
			expect(row.hash).not.toContain(sha256);
			const [secret] = await database()
				.db.select()
				.from(installationSecrets)
				.where(eq(installationSecrets.name, API_KEY_SECRET_NAME));
			expect(row.hash).toBe(
				`hmac-sha256:${createHmac("sha256", secret.value).update(created.key).digest("hex")}`,
			);
			// Another control node on the same database reads the same secret.
			await expect(
				new AccountsStore(database().db).authenticate(created.key),
			).resolves.toMatchObject({
				keyId: created.id,
			});
			// A node given another secret (MODELFLEET_KEY_SECRET) does not know the key.
			await expect(
				new AccountsStore(database().db, undefined, "x".repeat(32)).authenticate(
					created.key,
				),
			).rejects.toMatchObject({ code: 401 });
		});

		it("finds a key stored the old way (plain sha256) once, and rewrites it keyed with a short prefix", async () => {
			const key = "mf-bootstrap-key1";
			const legacy = createHash("sha256").update(key).digest("hex");
			const id = randomUUID();
			await database()
				.db.insert(apiKeys)
				.values({
					id,
					tenantId: a.tenantId,
					name: "from before",
					prefix: key.slice(0, 11),
					hash: legacy,
					role: "developer",
				});
			expect(await accounts.authenticate(key)).toEqual({
				tenant: a.tenantId,
				tenantName: "tenant-a",
				role: "developer",
				keyId: id,
			});
			const [row] = await database().db.select().from(apiKeys).where(eq(apiKeys.id, id));
			expect(row.hash).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
			expect(row.hash).not.toContain(legacy);
			expect(row.prefix).toBe("mf-b");
			// Found by its keyed hash from now on, here and on a node that has never seen it.
			await expect(new AccountsStore(database().db).authenticate(key)).resolves.toMatchObject(
				{
					keyId: id,
				},
			);
			// The old hash alone no longer finds anything.
			await database().db.update(apiKeys).set({ hash: "gone" }).where(eq(apiKeys.id, id));
			await expect(accounts.authenticate(key)).rejects.toMatchObject({ code: 401 });
		});

		it("refuses unknown, revoked and expired keys with 401", async () => {
			await expect(accounts.authenticate("mf_nope")).rejects.toMatchObject({
				code: 401,
				type: "UNAUTHENTICATED",
			});
			const revoked = await accounts.createKey(a, { name: "old", role: "viewer" });
			await accounts.revokeKey(a, revoked.id);
			await expect(accounts.authenticate(revoked.key)).rejects.toThrow(/revoked/);
			let now = new Date();
			const clock = new AccountsStore(database().db, () => now);
			const expiring = await clock.createKey(a, {
				name: "short",
				role: "viewer",
				expiresAt: new Date(now.getTime() + 1000).toISOString(),
			});
			await expect(clock.authenticate(expiring.key)).resolves.toMatchObject({
				role: "viewer",
			});
			now = new Date(now.getTime() + 2000);
			await expect(clock.authenticate(expiring.key)).rejects.toThrow(/expired/);
		});

		it("does not let one tenant revoke another tenant's key", async () => {
			const key = await accounts.createKey(a, { name: "mine", role: "viewer" });
			await expect(accounts.revokeKey(b, key.id)).rejects.toMatchObject({ code: 404 });
		});
	});

	describe("models", () => {
		it("creates a model once per tenant name; a second create answers 409", async () => {
			const model = await modelStore.create(a, {
				name: "iris",
				task: "classification",
				framework: "sklearn",
				tags: { team: "ml" },
			});
			expect(model).toMatchObject({
				name: "iris",
				task: "classification",
				tags: { team: "ml" },
				description: "",
			});
			await expect(
				modelStore.create(a, { name: "iris", task: "regression", framework: "onnx" }),
			).rejects.toMatchObject({
				code: 409,
				type: "ALREADY_EXISTS",
			});
			// Names are per tenant.
			await expect(
				modelStore.create(b, { name: "iris", task: "other", framework: "onnx" }),
			).resolves.toMatchObject({ name: "iris" });
		});

		it("answers 404 for another tenant's model, as for a missing one", async () => {
			await modelStore.create(a, { name: "secret", task: "other", framework: "onnx" });
			await expect(modelStore.get(b, "secret")).rejects.toMatchObject({
				code: 404,
				type: "NOT_FOUND",
			});
			await expect(
				modelStore.update(b, "secret", { description: "x" }),
			).rejects.toMatchObject({ code: 404 });
			await expect(modelStore.delete(b, "secret")).rejects.toMatchObject({ code: 404 });
		});

		it("lists by tag, task and name prefix, a page at a time", async () => {
			for (const [name, task, tags] of [
				["m-a", "regression", { stage: "prod" }],
				["m-b", "regression", { stage: "dev" }],
				["m-c", "vision", { stage: "prod", gpu: "yes" }],
			] as const) {
				await modelStore.create(a, { name, task, framework: "onnx", tags });
			}
			const names = async (q: Parameters<ModelStore["list"]>[1]) =>
				(await modelStore.list(a, q)).items.map(m => m.name);
			expect(await names({ prefix: "m-", limit: 10 })).toEqual(["m-a", "m-b", "m-c"]);
			expect(await names({ prefix: "m-", task: "regression", limit: 10 })).toEqual([
				"m-a",
				"m-b",
			]);
			expect(await names({ tag: "stage=prod", limit: 10 })).toEqual(["m-a", "m-c"]);
			expect(await names({ tag: "gpu", limit: 10 })).toEqual(["m-c"]);
			const first = await modelStore.list(a, { prefix: "m-", limit: 2 });
			expect(first.items.map(m => m.name)).toEqual(["m-a", "m-b"]);
			const second = await modelStore.list(a, {
				prefix: "m-",
				limit: 2,
				cursor: first.nextCursor!,
			});
			expect(second).toMatchObject({ items: [{ name: "m-c" }], nextCursor: null });
			expect((await modelStore.list(b, { prefix: "m-", limit: 10 })).items).toEqual([]);
		});

		it("sets and removes tags in an update", async () => {
			await modelStore.create(a, {
				name: "tagged",
				task: "other",
				framework: "onnx",
				tags: { a: "1", b: "2" },
			});
			const updated = await modelStore.update(a, "tagged", {
				tags: { a: null, c: "3" },
				description: "now described",
			});
			expect(updated).toMatchObject({
				tags: { b: "2", c: "3" },
				description: "now described",
			});
		});
	});

	describe("versions", () => {
		beforeAll(async () => {
			await modelStore.create(a, { name: "clf", task: "classification", framework: "onnx" });
		});

		it("creates exact and bumped semantic versions, unique per model", async () => {
			const v1 = await versions.create(a, "clf", {
				version: "1.0.0",
				format: "onnx",
				schema: SCHEMA,
			});
			expect(v1).toMatchObject({
				version: "1.0.0",
				ref: "clf@1.0.0",
				state: "Draft",
				lineage: { createdByKey: a.keyId },
			});
			expect(
				(await versions.create(a, "clf", { bump: "minor", format: "onnx", schema: SCHEMA }))
					.version,
			).toBe("1.1.0");
			expect(
				(await versions.create(a, "clf", { bump: "patch", format: "onnx", schema: SCHEMA }))
					.version,
			).toBe("1.1.1");
			expect(
				(await versions.create(a, "clf", { bump: "major", format: "onnx", schema: SCHEMA }))
					.version,
			).toBe("2.0.0");
			await expect(
				versions.create(a, "clf", { version: "1.0.0", format: "onnx", schema: SCHEMA }),
			).rejects.toMatchObject({ code: 409 });
			await expect(
				versions.create(a, "clf", { version: "v1", format: "onnx", schema: SCHEMA }),
			).rejects.toMatchObject({
				code: 400,
				type: "INVALID_INPUT",
			});
			expect((await versions.get(a, "clf", "latest")).version).toBe("2.0.0");
		});

		it("refuses specs whose parts disagree, naming the field", async () => {
			await expect(
				versions.create(a, "clf", {
					bump: "patch",
					format: "onnx",
					schema: SCHEMA,
					pipeline: { pre: [{ type: "standardize", mean: [1, 2], std: [1] }] },
				}),
			).rejects.toThrow(/pipeline.pre\[0\]: mean has 2 values but std has 1/);
		});

		it("moves through the lifecycle and refuses any other move with 409 naming the allowed ones", async () => {
			await versions.create(a, "clf", { version: "3.0.0", format: "onnx", schema: SCHEMA });
			await expect(versions.transition(a, "clf", "3.0.0", "Deployed")).rejects.toMatchObject({
				code: 409,
				type: "INVALID_TRANSITION",
				data: { from: "Draft", to: "Deployed", allowed: ["Training"] },
			});
			for (const to of ["Training", "Trained", "Validated", "Deployed"] as const) {
				expect((await versions.transition(a, "clf", "3.0.0", to)).version.state).toBe(to);
			}
			await expect(modelStore.delete(a, "clf")).rejects.toMatchObject({
				code: 409,
				type: "STATE_CONFLICT",
			});
		});

		it("points aliases at versions, moves them, and resolves name@alias", async () => {
			const set = await versions.setAlias(a, "clf", "champion", "1.0.0");
			expect(set).toMatchObject({ version: "1.0.0", previous: null });
			const moved = await versions.setAlias(a, "clf", "champion", "1.1.0");
			expect(moved).toMatchObject({ version: "1.1.0", previous: "1.0.0" });
			expect(await versions.get(a, "clf", "champion")).toMatchObject({
				version: "1.1.0",
				aliases: ["champion"],
			});
			expect((await versions.listAliases(a, "clf")).map(x => [x.alias, x.version])).toEqual([
				["champion", "1.1.0"],
			]);
			await expect(versions.setAlias(a, "clf", "1.2.3", "1.0.0")).rejects.toMatchObject({
				code: 400,
			});
			await expect(versions.get(b, "clf", "champion")).rejects.toMatchObject({ code: 404 });
		});

		it("writes an audit row for every change, in order", async () => {
			const { items } = await listAudit(database().db, a.tenantId, {
				limit: 5,
				target: "alias:clf@champion",
			});
			expect(items.map(i => [i.action, i.outcome, i.detail?.version])).toEqual([
				["aliases.set", "ok", "1.1.0"],
				["aliases.set", "ok", "1.0.0"],
			]);
			expect(items[0].keyId).toBe(a.keyId);
		});

		it("keeps per-version serving settings, which may change after creation", async () => {
			const created = await versions.create(a, "clf", {
				bump: "patch",
				format: "onnx",
				schema: SCHEMA,
				serving: { batching: { maxBatchSize: 8, maxQueueDelayMicros: 500 } },
			});
			expect(created.serving).toEqual({
				batching: { maxBatchSize: 8, maxQueueDelayMicros: 500 },
			});
			const changed = await versions.update(a, "clf", created.version, {
				serving: { batching: { enabled: false } },
			});
			expect(changed.serving).toEqual({ batching: { enabled: false } });
			expect((await versions.get(a, "clf", created.version)).serving).toEqual({
				batching: { enabled: false },
			});
		});

		it("reports every referenced artifact for garbage collection", async () => {
			const sha = "a".repeat(64);
			await versions.create(a, "clf", {
				bump: "patch",
				format: "onnx",
				schema: SCHEMA,
				artifact: { sha256: sha, size: 10 },
			});
			expect(await versions.referencedArtifacts()).toContain(sha);
		});
	});
});
