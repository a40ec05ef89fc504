/**
 * Against a real all-in-one node, on PGlite and on PostgreSQL: API keys are stored keyed
 * (HMAC-SHA-256) with a short prefix, a key stored the old way (plain sha256) still works once
 * and is then stored keyed, and `/api/v1/nodes` shows a tenant only its own loaded models while
 * an admin tenant's owner sees every tenant's.
 */
import { createHash, randomUUID } from "node:crypto";
import { eq } from "drizzle-orm";
import type { Identity } from "../../lib/accounts/accounts-store";
import { apiKeys } from "../../lib/db/schema";
import type { FleetNode } from "../../lib/fleet/node-inventory";
import { createPostgresDatabase } from "../support/databases";
import { describeWithServices } from "../support/external-services";
import {
	apiClient,
	FAST_LOOPS_CPU_ONLY,
	startTestNode,
	type TestNode,
	type TestReply,
} from "../support/test-node";
import { waitFor } from "../support/wait";
import { writeMlpModel } from "../unit/onnx/example-models";

/** An operator-chosen bootstrap key of 17 characters. */
const ADMIN_KEY = "mf-bootstrap-key1";
const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

interface Engine {
	name: string;
	describe(name: string, body: () => void): void;
	/** Extra node settings for a fresh database of this engine, and how to drop it. */
	database(): Promise<{ env: Record<string, string>; drop(): Promise<void> }>;
}

const ENGINES: Engine[] = [
	{
		name: "PGlite",
		describe: (name, body) => describe(name, body),
		database: () => Promise.resolve({ env: {}, drop: () => Promise.resolve() }),
	},
	{
		name: "PostgreSQL",
		describe: (name, body) => describeWithServices(["postgres"], name, body),
		database: async () => {
			const created = await createPostgresDatabase();
			return { env: { DATABASE_URL: created.url }, drop: created.drop };
		},
	},
];

const modelKeys = (nodes: FleetNode[]): string[] =>
	nodes.flatMap(node => (node.status?.serving?.models ?? []).map(m => m.key));

for (const engine of ENGINES) {
	engine.describe(`API key hashing and node views (${engine.name})`, () => {
		let testNode: TestNode;
		let drop: () => Promise<void> = () => Promise.resolve();
		let admin: (path: string, init?: { method?: string; body?: unknown }) => Promise<TestReply>;
		let tenantA: { id: string; key: string };
		let tenantB: { id: string; key: string };

		const newTenant = async (name: string) => {
			const reply = await admin("/tenants", { method: "POST", body: { name } });
			expect(reply.status).toBe(201);
			const body = reply.body as { tenant: { id: string }; ownerKey: { key: string } };
			return { id: body.tenant.id, key: body.ownerKey.key };
		};
		const db = () => testNode.node.database!.db;

		beforeAll(async () => {
			const database = await engine.database();
			drop = database.drop;
			testNode = await startTestNode(ADMIN_KEY, {
				...FAST_LOOPS_CPU_ONLY,
				...database.env,
				MODELFLEET_POOL_THREADS: "1",
			});
			admin = testNode.request;
			tenantA = await newTenant("tenant-a");
			tenantB = await newTenant("tenant-b");

			// Tenant A deploys a model; the node then reports it loaded (pinned).
			const a = apiClient(testNode.api, tenantA.key);
			expect(
				(
					await a("/models", {
						method: "POST",
						body: { name: "a-secret-model", task: "other", framework: "onnx" },
					})
				).status,
			).toBe(201);
			const uploaded = await fetch(
				`${testNode.api}/models/a-secret-model/versions/upload?version=1.0.0&state=Validated`,
				{
					method: "POST",
					headers: {
						authorization: `Bearer ${tenantA.key}`,
						"content-type": "application/octet-stream",
					},
					body: writeMlpModel(),
				},
			);
			expect(uploaded.status).toBe(201);
			expect(
				(
					await a("/deployments", {
						method: "POST",
						body: { model: "a-secret-model", version: "1.0.0" },
					})
				).status,
			).toBe(201);
			await waitFor(
				"tenant A's model loaded on the node",
				async () => {
					const nodes = (await admin("/nodes")).body as FleetNode[];
					return modelKeys(nodes).includes(`${tenantA.id}/a-secret-model@1.0.0`)
						? true
						: undefined;
				},
				30_000,
			);
		}, 90_000);

		afterAll(async () => {
			await testNode?.stop();
			await drop();
		});

		it("shows tenant B none of tenant A's loaded models in /api/v1/nodes", async () => {
			const reply = await apiClient(testNode.api, tenantB.key)("/nodes");
			expect(reply.status).toBe(200);
			const nodes = reply.body as FleetNode[];
			expect(nodes.length).toBeGreaterThan(0);
			expect(modelKeys(nodes)).toEqual([]);
			const text = JSON.stringify(nodes);
			expect(text).not.toContain(tenantA.id);
			expect(text).not.toContain("a-secret-model");
			for (const node of nodes) {
				if (node.status?.serving) expect(node.status.serving.modelsLoaded).toBe(0);
			}
		});

		it("shows tenant A its own model, and an admin tenant's owner every tenant's", async () => {
			const own = modelKeys(
				(await apiClient(testNode.api, tenantA.key)("/nodes")).body as FleetNode[],
			);
			expect(own).toEqual([`${tenantA.id}/a-secret-model@1.0.0`]);
			expect(modelKeys((await admin("/nodes")).body as FleetNode[])).toContain(
				`${tenantA.id}/a-secret-model@1.0.0`,
			);
		});

		it("shows another role of the admin tenant only the admin tenant's own models", async () => {
			const viewer = await admin("/keys", {
				method: "POST",
				body: { name: "viewer", role: "viewer" },
			});
			expect(viewer.status).toBe(201);
			const reply = await apiClient(
				testNode.api,
				(viewer.body as { key: string }).key,
			)("/nodes");
			expect(reply.status).toBe(200);
			expect(JSON.stringify(reply.body)).not.toContain("a-secret-model");
		});

		it("stores the chosen bootstrap key keyed, with 4 of its 17 characters shown", async () => {
			const [row] = await db()
				.select()
				.from(apiKeys)
				.where(eq(apiKeys.name, "bootstrap owner"));
			expect(row.prefix).toBe("mf-b");
			expect(row.hash).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
			expect(row.hash).not.toContain(sha256(ADMIN_KEY));
			const listed = (await admin("/keys")).body as { prefix: string }[];
			expect(listed.map(k => k.prefix)).toContain("mf-b");
			expect(JSON.stringify(listed)).not.toContain("mf-bootst");
		});

		it("authenticates a key stored the old way (plain sha256) once, then stores it keyed", async () => {
			const key = `mf_legacy-${randomUUID()}`;
			const id = randomUUID();
			await db()
				.insert(apiKeys)
				.values({
					id,
					tenantId: tenantB.id,
					name: "from before",
					prefix: key.slice(0, 11),
					hash: sha256(key),
					role: "developer",
				});

			const reply = await apiClient(testNode.api, key)("/tenant");
			expect(reply.status).toBe(200);
			expect(reply.body).toMatchObject({ id: tenantB.id, name: "tenant-b" });

			const [row] = await db().select().from(apiKeys).where(eq(apiKeys.id, id));
			expect(row.hash).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
			expect(row.hash).not.toContain(sha256(key));
			expect(row.prefix).toBe("mf_legac");
			// Found by its keyed hash from now on (asked past the gateway's identity cache).
			await expect(
				testNode.node.broker.call<Identity, { key: string }>("accounts.authenticate", {
					key,
				}),
			).resolves.toMatchObject({ keyId: id, tenant: tenantB.id, role: "developer" });
		});
	});
}
