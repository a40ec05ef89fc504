/**
 * Every registry and accounts action, called by each of the four roles of one tenant on its own
 * objects and on another tenant's: the outcome must be exactly the role table of docs/http-api.md — 403
 * for a role that may not, 404 for another tenant's objects, success otherwise.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { ServiceBroker } from "moleculer";
import type { RequestMeta } from "../../../lib/accounts/access";
import { ROLES, type Role } from "../../../lib/accounts/roles";
import { describeOnEachEngine } from "../../support/databases";
import { metaFor, startControlBroker, storeBlob } from "../../support/control-broker";
import { writeMlpModel } from "../../unit/onnx/example-models";

const SCHEMA = {
	inputs: [{ name: "x", datatype: "FP32", shape: [-1, 2] }],
	outputs: [{ name: "y", datatype: "FP32", shape: [-1] }],
};

/** The role table of docs/http-api.md: action → the roles marked ✓ ("admin only" noted). */
function readmeTable(): Map<string, { roles: Set<Role>; adminOnly: boolean }> {
	const readme = fs.readFileSync(
		path.join(__dirname, "..", "..", "..", "docs", "http-api.md"),
		"utf8",
	);
	const table = new Map<string, { roles: Set<Role>; adminOnly: boolean }>();
	for (const match of readme.matchAll(
		/^\|\s*`((?:registry|accounts)\.[\w.]+)`\s*\|(.*)\|\s*$/gm,
	)) {
		const cells = match[2].split("|").map(c => c.trim());
		table.set(match[1], {
			roles: new Set(ROLES.filter((_, i) => cells[i]?.startsWith("✓"))),
			adminOnly: cells.some(c => c.includes("admin tenant only")),
		});
	}
	return table;
}

/** The bytes of every dataset record below: each tenant has uploaded them. */
const DATASET_BYTES = Buffer.from("x,label\n1,0\n2,1\n");
let datasetSha = "";

/** A dataset record as the gateway would make it after parsing an upload. */
function datasetParams(n: number): Record<string, unknown> {
	return {
		name: `data-${n}`,
		sha256: datasetSha,
		size: 10,
		format: "csv",
		labelColumn: "label",
		rows: 2,
		report: { columns: [] },
	};
}

/** Builds params on tenant `t`'s objects (`base-a` or `base-b`), as that tenant's owner. */
type Setup = (ownerMeta: RequestMeta, n: number, t: "a" | "b") => Promise<Record<string, unknown>>;

describeOnEachEngine("tenant isolation and roles", database => {
	let broker: ServiceBroker;
	let counter = 0;
	let mlpSha: string;
	const metas: Record<"a" | "b", Record<Role, RequestMeta>> = { a: {} as never, b: {} as never };
	const call = (action: string, params: Record<string, unknown>, meta: RequestMeta) =>
		broker.call(action, params, { meta });

	/** How to build params for each action; `owner` is the owner meta of the tenant whose object is used. */
	const ON_OBJECTS: Record<string, Setup> = {
		// A tenant's quotas: its own for any role; another's answer 404 as if it did not exist.
		"accounts.quotas.get": async (_o, _n, t) => ({ id: metas[t].owner.tenant }),
		"registry.models.get": async (_o, _n, t) => ({ name: `base-${t}` }),
		"registry.models.update": async (_o, _n, t) => ({
			name: `base-${t}`,
			description: "changed",
		}),
		"registry.models.delete": async (owner, n) => {
			await call(
				"registry.models.create",
				{ name: `del-${n}`, task: "other", framework: "onnx" },
				owner,
			);
			return { name: `del-${n}` };
		},
		"registry.versions.create": async (_o, _n, t) => ({
			model: `base-${t}`,
			bump: "patch",
			format: "onnx",
			schema: SCHEMA,
		}),
		"registry.versions.import": async (_o, _n, t) => ({
			model: `base-${t}`,
			artifact: mlpSha,
			bump: "patch",
		}),
		"registry.versions.get": async (_o, _n, t) => ({ model: `base-${t}@1.0.0` }),
		"registry.versions.files": async (_o, _n, t) => ({ model: `base-${t}@1.0.0` }),
		"registry.versions.list": async (_o, _n, t) => ({ model: `base-${t}` }),
		"registry.versions.update": async (_o, _n, t) => ({
			model: `base-${t}`,
			version: "1.0.0",
			description: "d",
		}),
		"registry.versions.transition": async (owner, _n, t) => {
			const created = await call(
				"registry.versions.create",
				{ model: `base-${t}`, bump: "patch", format: "onnx", schema: SCHEMA },
				owner,
			);
			return {
				model: `base-${t}`,
				version: (created as { version: string }).version,
				to: "Training",
			};
		},
		"registry.aliases.set": async (_o, _n, t) => ({
			model: `base-${t}`,
			alias: "champion",
			version: "1.0.0",
		}),
		"registry.aliases.delete": async (owner, n, t) => {
			await call(
				"registry.aliases.set",
				{ model: `base-${t}`, alias: `a${n}`, version: "1.0.0" },
				owner,
			);
			return { model: `base-${t}`, alias: `a${n}` };
		},
		"registry.aliases.list": async (_o, _n, t) => ({ model: `base-${t}` }),
		"registry.datasets.get": async (owner, n) => {
			const created = await call("registry.datasets.create", datasetParams(n), owner);
			return { ref: (created as { id: string }).id };
		},
		"accounts.keys.revoke": async owner => {
			const key = await call(
				"accounts.keys.create",
				{ name: "to-revoke", role: "viewer" },
				owner,
			);
			return { id: (key as { id: string }).id };
		},
	};
	const WITHOUT_OBJECT: Record<string, (n: number) => Record<string, unknown>> = {
		"registry.models.create": n => ({ name: `new-${n}`, task: "other", framework: "onnx" }),
		"registry.models.list": () => ({}),
		"registry.audit.list": () => ({}),
		"registry.datasets.create": n => datasetParams(n),
		"registry.datasets.list": () => ({}),
		"accounts.tenants.get": () => ({}),
		"accounts.keys.create": () => ({ name: "k", role: "viewer" }),
		"accounts.keys.list": () => ({}),
		"accounts.tenants.create": n => ({ name: `t-${n}` }),
		"accounts.tenants.list": () => ({}),
		"accounts.usage.get": () => ({}),
		// The key's own tenant, role and permissions (the console's role-aware screens).
		"accounts.whoami": () => ({}),
		"accounts.quotas.set": () => ({ id: metas.a.owner.tenant, models: 5 }),
		// A signed identity for another tenant (the REPL's --tenant): an admin tenant's owner only.
		"accounts.tenants.actFor": () => ({ id: metas.b.owner.tenant }),
	};

	beforeAll(async () => {
		const started = await startControlBroker(database());
		broker = started.broker;
		const admin = await metaFor(broker, started.bootstrapKey);
		for (const tenant of ["a", "b"] as const) {
			const { ownerKey } = await call(
				"accounts.tenants.create",
				{ name: `tenant-${tenant}` },
				admin,
			).then(r => r as { ownerKey: { key: string } });
			const owner = await metaFor(broker, ownerKey.key);
			metas[tenant].owner = owner;
			// Both tenants upload the same files: a tenant may name only blobs it uploaded.
			mlpSha = await storeBlob(broker, writeMlpModel(), owner);
			datasetSha = await storeBlob(broker, DATASET_BYTES, owner);
			for (const role of ROLES.filter(r => r !== "owner")) {
				const key = (await call("accounts.keys.create", { name: role, role }, owner)) as {
					key: string;
				};
				metas[tenant][role] = await metaFor(broker, key.key);
			}
			await call(
				"registry.models.create",
				{ name: `base-${tenant}`, task: "other", framework: "onnx" },
				owner,
			);
			await call(
				"registry.versions.create",
				{ model: `base-${tenant}`, version: "1.0.0", format: "onnx", schema: SCHEMA },
				owner,
			);
		}
	});

	afterAll(() => broker?.stop());

	it("documents every tenant-facing action in the role table of docs/http-api.md", () => {
		const published = broker.registry
			.getActionList({ skipInternal: true })
			.map(a => String(a.name))
			.filter(name => /^(registry|accounts)\./.test(name))
			.filter(
				name =>
					![
						"accounts.authenticate",
						"registry.referencedArtifacts",
						// Fleet-internal: nodes' usage flushes, quota reads and stored bytes.
						"accounts.usage.record",
						"accounts.quotas.ofTenant",
						"registry.storedBytes",
					].includes(name),
			);
		expect([...readmeTable().keys()].sort()).toEqual(published.sort());
		expect(Object.keys({ ...ON_OBJECTS, ...WITHOUT_OBJECT }).sort()).toEqual(published.sort());
	});

	it("gives each role on its own objects exactly what the table says, and 404 on another tenant's", async () => {
		const table = readmeTable();
		const observed: string[] = [];
		const expected: string[] = [];
		for (const [action, setup] of Object.entries(ON_OBJECTS)) {
			const allowed = table.get(action)!.roles;
			for (const role of ROLES) {
				for (const [owner, label] of [
					["a", "own"],
					["b", "other tenant's"],
				] as const) {
					const params = await setup(metas[owner].owner, ++counter, owner);
					const outcome = await call(action, params, metas.a[role]).then(
						() => "ok",
						(err: { code: number; type: string }) => `${err.code} ${err.type}`,
					);
					observed.push(`${action} by ${role} on ${label}: ${outcome}`);
					const want = !allowed.has(role)
						? "403 FORBIDDEN"
						: label === "own"
							? "ok"
							: "404 NOT_FOUND";
					expected.push(`${action} by ${role} on ${label}: ${want}`);
				}
			}
		}
		expect(observed).toEqual(expected);
	});

	it("gives each role the table's answer for actions without an object, and shows only its own tenant's data", async () => {
		const table = readmeTable();
		const observed: string[] = [];
		const expected: string[] = [];
		for (const [action, params] of Object.entries(WITHOUT_OBJECT)) {
			const { roles, adminOnly } = table.get(action)!;
			for (const role of ROLES) {
				const outcome = await call(action, params(++counter), metas.a[role]).then(
					() => "ok",
					(err: { code: number; type: string }) => `${err.code} ${err.type}`,
				);
				observed.push(`${action} by ${role}: ${outcome}`);
				// tenant-a is not an admin tenant: admin-only actions are refused even to its owner.
				expected.push(
					`${action} by ${role}: ${roles.has(role) && !adminOnly ? "ok" : "403 FORBIDDEN"}`,
				);
			}
		}
		expect(observed).toEqual(expected);

		const listed = (await call("registry.models.list", { limit: 500 }, metas.a.viewer)) as {
			items: { name: string }[];
		};
		expect(listed.items.map(m => m.name)).not.toContain("del-1");
		const tenant = (await call("accounts.tenants.get", {}, metas.b.viewer)) as { name: string };
		expect(tenant.name).toBe("tenant-b");
		const audit = (await call("registry.audit.list", {}, metas.a.owner)) as {
			items: { target: string }[];
		};
		expect(audit.items.length).toBeGreaterThan(0);
		// b's changes never show in a's audit log: b's deleted models are named after b's counter values.
		const bAudit = (await call("registry.audit.list", { limit: 500 }, metas.b.owner)) as {
			items: { tenantId: string }[];
		};
		expect(new Set(bAudit.items.map(i => i.tenantId))).toEqual(new Set([metas.b.owner.tenant]));
	});

	it("answers 401 to a call with no tenant", async () => {
		await expect(broker.call("registry.models.list", {})).rejects.toMatchObject({
			code: 401,
			type: "UNAUTHENTICATED",
		});
	});
});
