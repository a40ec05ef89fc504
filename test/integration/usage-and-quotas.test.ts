/**
 * Usage and quotas on an all-in-one node (docs/usage-and-quotas.md): the usage report counts
 * each tenant's predictions exactly (JSON and CSV, admins across tenants), each quota refused
 * answers 403 or 429 with RESOURCE_LIMIT_EXCEEDED, the quota, its limit and current use, and
 * emits tenant.resource_limit_exceeded; quotas are set by admins only and read by the tenant.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Context } from "moleculer";
import { EVENTS, type EventPayloads } from "../../lib/events";
import { apiClient, FAST_LOOPS_CPU_ONLY, startTestNode, type TestNode } from "../support/test-node";
import { waitFor } from "../support/wait";
import { writeMlpModel } from "../unit/onnx/example-models";

const ADMIN_KEY = "mf_usage-quotas-admin-key";
const IRIS = path.join(__dirname, "..", "fixtures", "datasets", "iris.csv");
type Exceeded = EventPayloads[typeof EVENTS.resourceLimitExceeded];

describe("usage and quotas on an all-in-one node", () => {
	let testNode: TestNode;
	let tenant: { id: string; key: string };
	let client: ReturnType<typeof apiClient>;
	const admin = (url: string, init?: Parameters<typeof client>[1]) => testNode.request(url, init);
	const exceeded: Exceeded[] = [];

	async function upload(key: string, model: string, version: string) {
		return fetch(
			`${testNode.api}/models/${model}/versions/upload?version=${version}&state=Validated`,
			{
				method: "POST",
				headers: {
					authorization: `Bearer ${key}`,
					"content-type": "application/octet-stream",
				},
				body: writeMlpModel(),
			},
		);
	}

	const good = {
		inputs: [{ name: "x", datatype: "FP32", shape: [2, 4], data: [1, 2, 3, 4, 5, 6, 7, 8] }],
	};
	const bad = { inputs: [{ name: "x", datatype: "FP32", shape: [1, 3], data: [1, 2, 3] }] };
	const predict = (c: typeof client, body: unknown) =>
		c("/models/mlp/predict", { method: "POST", body });
	const setQuotas = (quotas: Record<string, number | null>) =>
		admin(`/tenants/${tenant.id}/quotas`, { method: "PUT", body: quotas });

	/** The refusal and the event it emitted, for `quota`. */
	async function expectRefused(
		reply: { status: number; body: unknown },
		quota: string,
		status: number,
		limit: number,
		current: number,
	): Promise<void> {
		expect(reply.status).toBe(status);
		expect(reply.body).toMatchObject({
			type: "RESOURCE_LIMIT_EXCEEDED",
			data: { quota, limit, current },
		});
		const event = await waitFor(
			`${quota} event`,
			() => exceeded.find(e => e.quota === quota && e.tenant === tenant.id),
			10_000,
			25,
		);
		expect(event).toMatchObject({
			quota,
			limit,
			current,
			kind: status === 429 ? "rate" : "size",
		});
	}

	beforeAll(async () => {
		testNode = await startTestNode(ADMIN_KEY, {
			...FAST_LOOPS_CPU_ONLY,
			LOG_LEVEL: "error",
			MODELFLEET_USAGE_FLUSH_MS: "200",
			MODELFLEET_USAGE_STORAGE_INTERVAL_S: "1",
			MODELFLEET_QUOTA_SYNC_MS: "100",
			// A changed quota applies within this, rather than the default 10 s.
			MODELFLEET_ACCOUNTS_CACHE_MS: "500",
			MODELFLEET_TRAINER_SLOTS: "1",
		});
		await testNode.node.broker.createService({
			name: "exceeded-listener",
			events: {
				[EVENTS.resourceLimitExceeded]: (ctx: Context<Exceeded>) => {
					exceeded.push(ctx.params);
				},
			},
		});
		const created = await admin("/tenants", { method: "POST", body: { name: "metered" } });
		const body = created.body as { tenant: { id: string }; ownerKey: { key: string } };
		tenant = { id: body.tenant.id, key: body.ownerKey.key };
		client = apiClient(testNode.api, tenant.key);
		for (const c of [admin, client]) {
			const model = await c("/models", {
				method: "POST",
				body: { name: "mlp", task: "classification", framework: "onnx" },
			});
			expect(model.status).toBe(201);
		}
		expect((await upload(ADMIN_KEY, "mlp", "1.0.0")).status).toBe(201);
		expect((await upload(tenant.key, "mlp", "1.0.0")).status).toBe(201);
	}, 120_000);

	afterAll(() => testNode?.stop());

	it("counts each tenant's predictions exactly: requests, rows, errors, bytes, per model, version and hour", async () => {
		const sent = { admin: [0, 0], tenant: [0, 0] };
		for (let i = 0; i < 40; i++) {
			const failing = i % 10 === 0;
			expect((await predict(admin, failing ? bad : good)).status).toBe(failing ? 400 : 200);
			sent.admin[failing ? 1 : 0]++;
		}
		for (let i = 0; i < 15; i++) {
			const failing = i % 5 === 0;
			expect((await predict(client, failing ? bad : good)).status).toBe(failing ? 400 : 200);
			sent.tenant[failing ? 1 : 0]++;
		}
		const usageOf = async (c: typeof client) => {
			const reply = await c("/usage?granularity=hour");
			expect(reply.status).toBe(200);
			return (reply.body as { usage: Array<Record<string, unknown>> }).usage;
		};
		await waitFor(
			"the tenant's usage flushed",
			async () => {
				const rows = await usageOf(client);
				return rows.some(r => r.requests === 15) || undefined;
			},
			10_000,
			100,
		);
		const mine = await usageOf(client);
		expect(mine).toEqual([
			expect.objectContaining({
				tenant: tenant.id,
				model: "mlp",
				version: "1.0.0",
				requests: 15,
				errors: 3,
				rows: 24,
				bytesIn: 12 * 32 + 3 * 12,
				bytesOut: expect.any(Number),
			}),
		]);
		expect(mine[0].cpuMs).toEqual(expect.any(Number));
		// The admin tenant's own report, and every tenant's with tenant=*.
		await waitFor(
			"the admin's usage flushed",
			async () => (await usageOf(admin)).some(r => r.requests === 40) || undefined,
			10_000,
			100,
		);
		const all = (await admin("/usage?tenant=*")).body as {
			usage: Array<{ tenant: string; requests: number; errors: number }>;
		};
		const adminTenant = ((await admin("/tenant")).body as { id: string }).id;
		expect(Object.fromEntries(all.usage.map(r => [r.tenant, [r.requests, r.errors]]))).toEqual({
			[tenant.id]: [15, 3],
			[adminTenant]: [40, 4],
		});
		// A tenant that is no id is a 400, not a database error (found by the fuzzer).
		expect(await admin("/usage?tenant=not-a-uuid")).toMatchObject({
			status: 400,
			body: { type: "VALIDATION_ERROR" },
		});
		// Another tenant may not read across tenants.
		expect((await client("/usage?tenant=*")).status).toBe(403);
	});

	it("answers CSV for Accept: text/csv, and days with stored bytes", async () => {
		const csv = await fetch(`${testNode.api}/usage?granularity=day`, {
			headers: { authorization: `Bearer ${tenant.key}`, accept: "text/csv" },
		});
		expect(csv.status).toBe(200);
		expect(csv.headers.get("content-type")).toMatch(/^text\/csv/);
		const lines = (await csv.text()).trim().split("\n");
		expect(lines[0]).toMatch(/^period,tenant,model,version,requests,rows,errors/);
		expect(lines[1]).toContain(`,${tenant.id},mlp,1.0.0,15,24,3,`);
		// Stored bytes, measured every second here: the tenant's one model file.
		const days = await waitFor(
			"a stored-bytes figure",
			async () => {
				const reply = (await client("/usage?granularity=day")).body as {
					storage: Array<Record<string, unknown>>;
					granularity: string;
				};
				return reply.storage.length > 0 ? reply : undefined;
			},
			10_000,
			200,
		);
		expect(days.granularity).toBe("day");
		expect(days.storage).toEqual([
			expect.objectContaining({
				tenant: tenant.id,
				artifactsBytes: writeMlpModel().length,
				datasetsBytes: 0,
				capturesBytes: 0,
			}),
		]);
		expect((await client("/usage?granularity=week")).status).toBe(400);
	});

	it("lets an admin set quotas and the tenant read them; others hear 403 or 404", async () => {
		expect((await client(`/tenants/${tenant.id}/quotas`)).body).toEqual({
			tenant: tenant.id,
			quotas: {},
			updatedAt: null,
		});
		expect(
			(await client(`/tenants/${tenant.id}/quotas`, { method: "PUT", body: { models: 99 } }))
				.status,
		).toBe(403);
		const adminTenant = ((await admin("/tenant")).body as { id: string }).id;
		expect((await client(`/tenants/${adminTenant}/quotas`)).status).toBe(404);
		expect((await setQuotas({ model: 1 })).status).toBe(400);
		expect((await setQuotas({ models: -1 })).status).toBe(400);
		const set = await setQuotas({ models: 5, predictionsPerDay: null });
		expect(set.status).toBe(200);
		expect((await client(`/tenants/${tenant.id}/quotas`)).body).toMatchObject({
			quotas: { models: 5 },
		});
	});

	it("refuses models, versions and stored bytes over their quotas with 403 and the event", async () => {
		await setQuotas({ models: 1 });
		await expectRefused(
			await client("/models", {
				method: "POST",
				body: { name: "second", task: "classification", framework: "onnx" },
			}),
			"models",
			403,
			1,
			1,
		);
		await setQuotas({ versions: 1 });
		const version = await upload(tenant.key, "mlp", "2.0.0");
		await expectRefused(
			{ status: version.status, body: await version.json() },
			"versions",
			403,
			1,
			1,
		);
		await setQuotas({ storedBytes: 10 });
		const stored = await upload(tenant.key, "mlp", "2.0.0");
		await expectRefused(
			{ status: stored.status, body: await stored.json() },
			"storedBytes",
			403,
			10,
			writeMlpModel().length,
		);
		await setQuotas({});
	});

	it("refuses deployments, replicas and GPUs over their quotas", async () => {
		await setQuotas({ deployments: 0 });
		await expectRefused(
			await client("/deployments", { method: "POST", body: { model: "mlp", replicas: 1 } }),
			"deployments",
			403,
			0,
			0,
		);
		await setQuotas({ replicas: 1 });
		await expectRefused(
			await client("/deployments", { method: "POST", body: { model: "mlp", replicas: 2 } }),
			"replicas",
			403,
			1,
			0,
		);
		await setQuotas({ gpus: 0 });
		await expectRefused(
			await client("/deployments", {
				method: "POST",
				body: { model: "mlp", replicas: 1, resources: { gpus: 1 } },
			}),
			"gpus",
			403,
			0,
			0,
		);
		// Within its quotas a deployment is made, and scaling it past them is refused.
		await setQuotas({ replicas: 1, deployments: 1 });
		expect(
			(await client("/deployments", { method: "POST", body: { model: "mlp", replicas: 1 } }))
				.status,
		).toBe(201);
		exceeded.length = 0;
		await expectRefused(
			await client("/deployments/mlp/scale", { method: "POST", body: { replicas: 3 } }),
			"replicas",
			403,
			1,
			1,
		);
		expect(
			(await client("/deployments/mlp/scale", { method: "POST", body: { replicas: 0 } }))
				.status,
		).toBe(200);
		expect((await client("/deployments/mlp", { method: "DELETE" })).status).toBe(200);
		await setQuotas({});
	});

	it("refuses a training job past the concurrent jobs quota", async () => {
		const dataset = await fetch(`${testNode.api}/datasets?name=iris&labelColumn=label`, {
			method: "POST",
			headers: { authorization: `Bearer ${tenant.key}`, "content-type": "text/csv" },
			body: fs.readFileSync(IRIS),
		});
		expect(dataset.status).toBe(201);
		await setQuotas({ concurrentTrainingJobs: 0 });
		await expectRefused(
			await client("/training-jobs", {
				method: "POST",
				body: { target: "mlp", dataset: "iris", labelColumn: "label", epochs: 1 },
			}),
			"concurrentTrainingJobs",
			403,
			0,
			0,
		);
		await setQuotas({});
	});

	it("refuses predictions past the per-minute and per-day quotas with 429 and Retry-After", async () => {
		await setQuotas({ predictionsPerMinute: 3 });
		// The gateway trusts a tenant's quotas for MODELFLEET_ACCOUNTS_CACHE_MS: wait for the new ones.
		await waitFor(
			"the per-minute quota applied",
			async () => (await predict(client, good)).status === 429 || undefined,
			15_000,
			50,
		);
		const refused = await predict(client, good);
		await expectRefused(refused, "predictionsPerMinute", 429, 3, 3);
		expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
		// Every predict route counts: the Open Inference Protocol's infer too.
		const v2 = await fetch(`${testNode.api.replace("/api/v1", "")}/v2/models/mlp/infer`, {
			method: "POST",
			headers: { authorization: `Bearer ${tenant.key}`, "content-type": "application/json" },
			body: JSON.stringify(good),
		});
		expect(v2.status).toBe(429);
		await setQuotas({ predictionsPerDay: 0 });
		await waitFor(
			"the per-day quota applied",
			async () => {
				const reply = await predict(client, good);
				return (
					(reply.status === 429 &&
						(reply.body as { data: { quota: string } }).data.quota ===
							"predictionsPerDay") ||
					undefined
				);
			},
			15_000,
			100,
		);
		await expectRefused(await predict(client, good), "predictionsPerDay", 429, 0, 0);
		// Other tenants are not limited.
		expect((await predict(admin, good)).status).toBe(200);
		await setQuotas({});
	});
});
