/**
 * Usage and quotas across a fleet of real processes over the real NATS server: a gateway (its
 * prediction quotas counted through Redis), a control node (PostgreSQL) and two CPU workers.
 * Two tenants send 1,000 and 250 predictions (some failing) and train one job each: the usage
 * report shows exactly those counts per tenant, model and hour. A worker killed with SIGKILL
 * loses at most what it served in its last flush interval (docs/usage-and-quotas.md). Quotas
 * refuse over the limit with RESOURCE_LIMIT_EXCEEDED and the event, heard by a broker of the
 * test's own on the bus.
 */
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { ServiceBroker } from "moleculer";
import type { ResourceLimitExceededEvent } from "../../lib/events";
import type { JobView } from "../../lib/scheduler/job-store";
import { createPostgresDatabase } from "../support/databases";
import { describeWithServices, serviceUrl } from "../support/external-services";
import { publishModel, waitForWorkers } from "../support/fleet-api";
import { FAST_LOOPS, FleetProcesses } from "../support/fleet-processes";
import { apiClient, type TestReply } from "../support/test-node";
import { waitFor } from "../support/wait";
import { writeMlpModel } from "../unit/onnx/example-models";

const OWNER_KEY = `mf_usage-cluster-${randomUUID()}`;
const WORKERS = ["worker-1", "worker-2"];
const FLUSH_MS = 1000;
const IRIS = path.join(__dirname, "..", "fixtures", "datasets", "iris.csv");

interface UsageRow {
	tenant: string;
	model: string;
	version: string;
	period: string;
	requests: number;
	rows: number;
	errors: number;
	trainingCpuS: number;
	trainingGpuS: number;
}

describeWithServices(["nats", "postgres", "redis"], "usage and quotas across a fleet", () => {
	const cluster = new FleetProcesses("usage-test", {
		...FAST_LOOPS,
		MODELFLEET_USAGE_FLUSH_MS: String(FLUSH_MS),
		MODELFLEET_QUOTA_SYNC_MS: "200",
	});
	let base: string;
	let database: { url: string; drop(): Promise<void> };
	let observer: ServiceBroker;
	const exceeded: ResourceLimitExceededEvent[] = [];
	const tenants: Record<
		"a" | "b",
		{ id: string; key: string; client: ReturnType<typeof apiClient> }
	> = {} as never;

	const good = {
		inputs: [{ name: "x", datatype: "FP32", shape: [2, 4], data: [1, 2, 3, 4, 5, 6, 7, 8] }],
	};
	const bad = { inputs: [{ name: "x", datatype: "FP32", shape: [1, 3], data: [1, 2, 3] }] };

	/** Sends `count` predictions, every `failEvery`-th one failing, `parallel` at a time. */
	async function predictMany(
		who: "a" | "b",
		count: number,
		failEvery: number,
		parallel = 8,
	): Promise<Array<{ ok: boolean; node: string | null; at: number }>> {
		const answers: Array<{ ok: boolean; node: string | null; at: number }> = new Array(count);
		let next = 0;
		const lane = async (): Promise<void> => {
			while (next < count) {
				const i = next++;
				const failing = i % failEvery === 0;
				const reply = await tenants[who].client("/models/mlp/predict", {
					method: "POST",
					body: failing ? bad : good,
				});
				expect(reply.status).toBe(failing ? 400 : 200);
				answers[i] = {
					ok: !failing,
					node: reply.headers.get("x-modelfleet-node"),
					at: Date.now(),
				};
			}
		};
		await Promise.all(Array.from({ length: parallel }, lane));
		return answers;
	}

	/** A tenant's usage rows of the last day, hour by hour. */
	async function usage(who: "a" | "b", query = ""): Promise<UsageRow[]> {
		const reply = await tenants[who].client(`/usage?granularity=hour${query}`);
		expect(reply.status).toBe(200);
		return (reply.body as { usage: UsageRow[] }).usage;
	}

	/** Sums of a tenant's rows of one model and version over the hours. */
	const total = (rows: UsageRow[], model: string, version: string) =>
		rows
			.filter(r => r.model === model && r.version === version)
			.reduce(
				(sum, r) => ({
					requests: sum.requests + r.requests,
					rows: sum.rows + r.rows,
					errors: sum.errors + r.errors,
					trainingCpuS: sum.trainingCpuS + r.trainingCpuS,
				}),
				{ requests: 0, rows: 0, errors: 0, trainingCpuS: 0 },
			);

	async function train(who: "a" | "b"): Promise<void> {
		const { client, key } = tenants[who];
		expect(
			(
				await client("/models", {
					method: "POST",
					body: { name: "iris", task: "classification", framework: "tfjs" },
				})
			).status,
		).toBe(201);
		const dataset = await fetch(`${base}/datasets?name=iris&labelColumn=label`, {
			method: "POST",
			headers: { authorization: `Bearer ${key}`, "content-type": "text/csv" },
			body: fs.readFileSync(IRIS),
		});
		expect(dataset.status).toBe(201);
		const queued = await client("/training-jobs", {
			method: "POST",
			body: {
				target: "iris",
				dataset: "iris",
				labelColumn: "label",
				epochs: 3,
				checkpointEvery: 0,
				seed: 1,
			},
		});
		expect(queued.status).toBe(201);
		const id = (queued.body as JobView).id;
		await waitFor(
			`${who}'s training job completed`,
			async () => {
				const job = (await client(`/training-jobs/${id}`)).body as JobView;
				if (job.state === "failed") throw new Error(`it failed: ${job.error}`);
				return job.state === "completed" || undefined;
			},
			120_000,
			200,
		).catch(cluster.failWithLogs);
	}

	beforeAll(async () => {
		database = await createPostgresDatabase();
		base = `${await cluster.startBasicFleet({
			ownerKey: OWNER_KEY,
			databaseUrl: database.url,
			workers: WORKERS,
			workerEnv: { MODELFLEET_TRAINER_SLOTS: "1", MODELFLEET_TRAINING_BACKEND: "wasm" },
			env: { REDIS_URL: serviceUrl("redis") },
			// A changed quota applies within this, rather than the default 10 s.
			nodeEnv: { gateway: { MODELFLEET_ACCOUNTS_CACHE_MS: "500" } },
		})}/api/v1`;
		observer = new ServiceBroker({
			namespace: cluster.namespace,
			nodeID: `observer-${randomUUID().slice(0, 6)}`,
			transporter: { type: "NATS", options: { servers: [serviceUrl("nats")] } },
			serializer: "CBOR",
			heartbeatInterval: 1,
			heartbeatTimeout: 3,
			logger: false,
		});
		observer.createService({
			name: "observer",
			events: {
				"tenant.resource_limit_exceeded"(ctx: { params: ResourceLimitExceededEvent }) {
					exceeded.push(ctx.params);
				},
			},
		});
		await observer.start();
		await waitForWorkers(base, OWNER_KEY, WORKERS, 90_000).catch(cluster.failWithLogs);
		const admin = apiClient(base, OWNER_KEY);
		const adminTenant = (await admin("/tenant")).body as { id: string };
		tenants.a = { id: adminTenant.id, key: OWNER_KEY, client: admin };
		const created = (await admin("/tenants", { method: "POST", body: { name: "tenant-b" } }))
			.body as {
			tenant: { id: string };
			ownerKey: { key: string };
		};
		tenants.b = {
			id: created.tenant.id,
			key: created.ownerKey.key,
			client: apiClient(base, created.ownerKey.key),
		};
		for (const who of ["a", "b"] as const)
			await publishModel(base, tenants[who].key, "mlp", writeMlpModel());
	}, 150_000);

	afterAll(async () => {
		await observer?.stop();
		await cluster.killAll();
		await database?.drop();
	});

	it("counts 1,000 and 250 predictions and one training job per tenant exactly, per model and hour", async () => {
		const [a, b] = await Promise.all([predictMany("a", 1000, 10), predictMany("b", 250, 25)]);
		// Both workers served (the answered ones name their node): each meter flushed its own part.
		expect(new Set([...a, ...b].filter(r => r.ok).map(r => r.node))).toEqual(new Set(WORKERS));
		await Promise.all([train("a"), train("b")]);
		const expected = {
			a: { requests: 1000, errors: 100, rows: 900 * 2 },
			b: { requests: 250, errors: 10, rows: 240 * 2 },
		};
		for (const who of ["a", "b"] as const) {
			const rows = await waitFor(
				`${who}'s usage flushed`,
				async () => {
					const all = await usage(who);
					const mlp = total(all, "mlp", "1.0.0");
					const iris = total(all, "iris", "");
					return mlp.requests === expected[who].requests && iris.trainingCpuS > 0
						? all
						: undefined;
				},
				30_000,
				250,
			).catch(cluster.failWithLogs);
			expect(total(rows, "mlp", "1.0.0")).toEqual({ ...expected[who], trainingCpuS: 0 });
			for (const row of rows) {
				expect(row.tenant).toBe(tenants[who].id);
				expect(row.period).toMatch(/T\d\d:00:00\.000Z$/);
				expect(row.trainingGpuS).toBe(0);
			}
			expect(rows.map(r => r.model).sort()).toEqual(
				[...new Set(rows.map(r => `${r.model}@${r.period}`))]
					.map(k => k.split("@")[0])
					.sort(),
			);
		}
		// The admin tenant sees both; the other tenant only its own.
		const everyone = (await tenants.a.client("/usage?tenant=*")).body as { usage: UsageRow[] };
		expect(new Set(everyone.usage.map(r => r.tenant))).toEqual(
			new Set([tenants.a.id, tenants.b.id]),
		);
		expect((await tenants.b.client(`/usage?tenant=${tenants.a.id}`)).status).toBe(403);
	}, 300_000);

	it("loses at most the last flush interval of a worker killed with SIGKILL", async () => {
		const before = total(await usage("b"), "mlp", "1.0.0").requests;
		// Requests paced over several flush intervals, two at a time (so both workers serve:
		// a caller's own calls in flight count in the replica choice), then the worker is killed.
		const sent: Array<{ node: string | null; at: number }> = [];
		const lane = async (): Promise<void> => {
			for (let i = 0; i < 30; i++) {
				const reply: TestReply = await tenants.b.client("/models/mlp/predict", {
					method: "POST",
					body: good,
				});
				expect(reply.status).toBe(200);
				sent.push({ node: reply.headers.get("x-modelfleet-node"), at: Date.now() });
				await new Promise(resolve => setTimeout(resolve, 100));
			}
		};
		await Promise.all([lane(), lane()]);
		const killedAt = Date.now();
		cluster.get("worker-1").kill("SIGKILL");
		// What the documented bound lets the kill lose: worker-1's requests of its last interval
		// (twice the interval, for a flush under way when it was killed).
		const mayLose = sent.filter(
			s => s.node === "worker-1" && s.at > killedAt - 2 * FLUSH_MS,
		).length;
		const mustHave = before + sent.length - mayLose;
		expect(sent.some(s => s.node === "worker-1" && s.at <= killedAt - 2 * FLUSH_MS)).toBe(true);
		// Settled: worker-2 has flushed all it served, and nothing more arrives.
		let last = -1;
		const after = await waitFor(
			"the counts settled after the kill",
			async () => {
				await new Promise(resolve => setTimeout(resolve, 2 * FLUSH_MS));
				const now = total(await usage("b"), "mlp", "1.0.0").requests;
				const settled = now === last;
				last = now;
				return settled ? now : undefined;
			},
			30_000,
			0,
		).catch(cluster.failWithLogs);
		expect(after).toBeGreaterThanOrEqual(mustHave);
		expect(after).toBeLessThanOrEqual(before + sent.length);
	}, 120_000);

	it("refuses predictions over a tenant's per-minute quota at the gateway, and a model over its models quota", async () => {
		const admin = tenants.a.client;
		const set = await admin(`/tenants/${tenants.b.id}/quotas`, {
			method: "PUT",
			body: { predictionsPerMinute: 5, models: 1 },
		});
		expect(set.status).toBe(200);
		const held = ((await tenants.b.client("/models")).body as { items: unknown[] }).items
			.length;
		const model = await tenants.b.client("/models", {
			method: "POST",
			body: { name: "third", task: "classification", framework: "onnx" },
		});
		expect(model).toMatchObject({
			status: 403,
			body: {
				type: "RESOURCE_LIMIT_EXCEEDED",
				data: { quota: "models", limit: 1, current: held },
			},
		});
		// The gateway trusts a tenant's quotas for MODELFLEET_ACCOUNTS_CACHE_MS.
		const refused = await waitFor(
			"the per-minute quota applied",
			async () => {
				const reply = await tenants.b.client("/models/mlp/predict", {
					method: "POST",
					body: good,
				});
				return reply.status === 429 ? reply : undefined;
			},
			20_000,
			100,
		);
		expect(refused.body).toMatchObject({
			type: "RESOURCE_LIMIT_EXCEEDED",
			data: { quota: "predictionsPerMinute", limit: 5 },
		});
		expect(
			(await tenants.a.client("/models/mlp/predict", { method: "POST", body: good })).status,
		).toBe(200);
		await waitFor(
			"both events heard on the bus",
			() =>
				["models", "predictionsPerMinute"].every(q =>
					exceeded.some(e => e.tenant === tenants.b.id && e.quota === q),
				) || undefined,
			10_000,
			100,
		);
	}, 60_000);
});
