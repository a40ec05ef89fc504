/**
 * Deployments across a fleet of real processes over the real NATS server: a gateway, a control
 * node (PostgreSQL) and three CPU workers, later a GPU worker. Replicas land on distinct
 * workers and get all the traffic; a replica's worker killed with SIGKILL under load costs no
 * request and is replaced; a GPU deployment waits for a GPU node and runs there once one joins;
 * the autoscaler scales up under load and back down after it; a canary split holds its weights.
 */
import { apiClient } from "../support/test-node";
import { randomUUID } from "node:crypto";
import { ServiceBroker } from "moleculer";
import { registerRoutingStrategies } from "../../lib/routing/model-replica-strategy";
import type { DeploymentView } from "../../lib/scheduler/deployment-store";
import { createPostgresDatabase } from "../support/databases";
import { describeWithServices, serviceUrl } from "../support/external-services";
import { FAST_LOOPS, FleetProcesses } from "../support/fleet-processes";
import { NodeProcess, freePort } from "../support/node-process";
import { waitFor } from "../support/wait";
import { writeMlpModel } from "../unit/onnx/example-models";

const OWNER_KEY = `mf_deploy-test-${randomUUID()}`;
const CPU_WORKERS = ["worker-1", "worker-2", "worker-3"];

interface Reply {
	status: number;
	body: unknown;
	node: string | null;
}

describeWithServices(["nats", "postgres"], "deployments across a fleet", () => {
	const cluster = new FleetProcesses("deploy-test", FAST_LOOPS);
	let base: string;
	let database: { url: string; drop(): Promise<void> };
	let observer: ServiceBroker;
	const autoscalingEvents: Array<{ model: string; from: number; to: number; reason: string }> =
		[];

	function startCpuWorker(name: string): NodeProcess {
		return cluster.start(name, "worker", {
			MODELFLEET_CPUS: "2",
			MODELFLEET_MEMORY: "4GiB",
			MODELFLEET_GPUS: "none",
		});
	}

	async function request(
		path: string,
		init: { method?: string; body?: unknown } = {},
	): Promise<Reply> {
		const reply = await apiClient(base, OWNER_KEY)(path, init);
		return {
			status: reply.status,
			body: reply.body,
			node: reply.headers.get("x-modelfleet-node"),
		};
	}

	const predictBody = {
		inputs: [{ name: "x", datatype: "FP32", shape: [1, 4], data: [1, 2, 3, 4] }],
	};
	const predict = (model: string) =>
		request(`/models/${model}/predict`, { method: "POST", body: predictBody });

	async function createModel(name: string, versions: string[]): Promise<void> {
		const created = await request("/models", {
			method: "POST",
			body: { name, task: "classification", framework: "onnx" },
		});
		expect(created.status).toBe(201);
		for (const version of versions) {
			const response = await fetch(
				`${base}/models/${name}/versions/upload?version=${version}&fileName=m.onnx&state=Validated`,
				{
					method: "POST",
					headers: {
						authorization: `Bearer ${OWNER_KEY}`,
						"content-type": "application/octet-stream",
					},
					body: writeMlpModel(),
				},
			);
			expect(response.status).toBe(201);
		}
	}

	function deployment(model: string): Promise<DeploymentView> {
		return request(`/deployments/${model}`).then(r => r.body as DeploymentView);
	}

	function waitForReady(model: string, replicas: number, timeoutMs: number) {
		return waitFor(
			`${replicas} ready replicas of ${model}`,
			async () => {
				const view = await deployment(model);
				return view.readyReplicas === replicas && view.placements.length === replicas
					? view
					: undefined;
			},
			timeoutMs,
		).catch(cluster.failWithLogs);
	}

	beforeAll(async () => {
		database = await createPostgresDatabase();
		const port = await freePort();
		base = `http://127.0.0.1:${port}/api/v1`;
		cluster.start("gateway", "gateway", { HOST: "127.0.0.1", PORT: String(port) });
		cluster.start("control", "control", {
			DATABASE_URL: database.url,
			MODELFLEET_BOOTSTRAP_KEY: OWNER_KEY,
		});
		for (const name of CPU_WORKERS) startCpuWorker(name);

		// A plain broker in the test joins the fleet to watch its events.
		registerRoutingStrategies();
		observer = new ServiceBroker({
			namespace: cluster.namespace,
			nodeID: `observer-${randomUUID().slice(0, 6)}`,
			transporter: { type: "NATS", options: { servers: [serviceUrl("nats")] } },
			serializer: "CBOR",
			// The fleet drops a node silent for 3 s: the observer beats as often as the nodes do.
			heartbeatInterval: 1,
			heartbeatTimeout: 3,
			logger: false,
		});
		observer.createService({
			name: "observer",
			events: {
				"autoscaling.triggered"(ctx: {
					params: { model: string; from: number; to: number; reason: string };
				}) {
					autoscalingEvents.push(ctx.params);
				},
			},
		});
		await observer.start();

		await waitFor(
			"the fleet up: gateway ready with three workers",
			async () => {
				const nodes = await request("/nodes");
				if (nodes.status !== 200) return undefined;
				const list = nodes.body as Array<{ nodeID: string; available: boolean }>;
				return CPU_WORKERS.every(w => list.some(n => n.nodeID === w && n.available))
					? true
					: undefined;
			},
			60_000,
			250,
		).catch(cluster.failWithLogs);
		await createModel("mlp", ["1.0.0", "2.0.0"]);
	}, 90_000);

	afterAll(async () => {
		await observer?.stop();
		await cluster.killAll();
		await database?.drop();
	});

	it("places 2 replicas on 2 different workers, and 1,000 predictions all go to those two", async () => {
		const created = await request("/deployments", {
			method: "POST",
			body: { model: "mlp", version: "1.0.0", replicas: 2 },
		});
		expect(created.status).toBe(201);
		const running = await waitForReady("mlp", 2, 20_000);
		const holders = running.placements.map(p => p.nodeID);
		expect(new Set(holders).size).toBe(2);
		expect(holders.every(h => CPU_WORKERS.includes(h))).toBe(true);

		// The gateway learns the placement from the scheduler's event.
		await waitFor(
			"predictions routed to the replicas",
			async () => {
				const reply = await predict("mlp");
				return reply.node !== null && holders.includes(reply.node) ? true : undefined;
			},
			10_000,
		);
		const perNode = new Map<string, number>();
		for (let sent = 0; sent < 1000; sent += 50) {
			const replies = await Promise.all(Array.from({ length: 50 }, () => predict("mlp")));
			for (const reply of replies) {
				expect(reply.status).toBe(200);
				perNode.set(reply.node ?? "?", (perNode.get(reply.node ?? "?") ?? 0) + 1);
			}
		}
		expect([...perNode.keys()].sort()).toEqual([...holders].sort());
		expect([...perNode.values()].reduce((a, b) => a + b, 0)).toBe(1000);
		// Least-loaded routing shares the load rather than sending everything to one replica.
		for (const count of perNode.values()) expect(count).toBeGreaterThan(100);
	}, 60_000);

	it("loses no request when a replica's worker is killed, and is back to 2 replicas within 15 s", async () => {
		const before = await deployment("mlp");
		const victim = before.placements[0].nodeID;
		let stop = false;
		let failures = 0;
		let succeeded = 0;
		const errors: string[] = [];
		const client = async () => {
			while (!stop) {
				const reply = await predict("mlp").catch((err: Error): Reply => ({
					status: 0,
					body: err.message,
					node: null,
				}));
				if (reply.status === 200) succeeded++;
				else {
					failures++;
					errors.push(`${reply.status} ${JSON.stringify(reply.body)}`);
				}
			}
		};
		const clients = Array.from({ length: 8 }, () => client());
		await new Promise(resolve => setTimeout(resolve, 1000));
		const killedAt = Date.now();
		cluster.get(victim).kill("SIGKILL");

		const after = await waitFor(
			"2 ready replicas without the killed worker",
			async () => {
				const view = await deployment("mlp");
				const nodes = view.placements.filter(p => p.state === "ready").map(p => p.nodeID);
				return nodes.length === 2 && !nodes.includes(victim) ? view : undefined;
			},
			15_000,
		).catch(err => {
			stop = true;
			return cluster.failWithLogs(err);
		});
		expect(Date.now() - killedAt).toBeLessThan(15_000);
		await new Promise(resolve => setTimeout(resolve, 1000));
		stop = true;
		await Promise.all(clients);
		expect(errors.slice(0, 5)).toEqual([]);
		expect(failures).toBe(0);
		expect(succeeded).toBeGreaterThan(100);
		expect(after.placements.map(p => p.nodeID).sort()).toEqual(
			CPU_WORKERS.filter(w => w !== victim).sort(),
		);
		// A worker with the victim's name rejoins for the tests after this one.
		startCpuWorker(victim);
	}, 60_000);

	it("keeps a GPU deployment pending on a CPU-only fleet, then runs it on a GPU worker that joins", async () => {
		await createModel("vision", ["1.0.0"]);
		const created = await request("/deployments", {
			method: "POST",
			body: { model: "vision", replicas: 1, resources: { gpus: 1 } },
		});
		expect(created.status).toBe(201);
		const pending = await waitFor(
			"the GPU deployment pending with a reason",
			async () => {
				const view = await deployment("vision");
				return view.status === "pending" && view.statusReason ? view : undefined;
			},
			10_000,
		);
		expect(pending.statusReason).toMatch(/no node with a free GPU/);
		expect(pending.placements).toEqual([]);

		const joinedAt = Date.now();
		cluster.start("worker-gpu", "worker", {
			MODELFLEET_CPUS: "8",
			MODELFLEET_MEMORY: "16GiB",
			MODELFLEET_GPUS: JSON.stringify([{ name: "NVIDIA H100 80GB HBM3", memory: "80GiB" }]),
		});
		const running = await waitForReady("vision", 1, 15_000 + 20_000);
		// The worker process needs a few seconds to start on this machine; the placement itself
		// must follow its arrival quickly.
		expect(running.placements).toEqual([
			expect.objectContaining({ nodeID: "worker-gpu", gpuIndex: 0, state: "ready" }),
		]);
		expect(Date.now() - joinedAt).toBeLessThan(35_000);
		// The gateway learns the placement from the scheduler's event, a moment after it is recorded.
		await waitFor(
			"predictions of the GPU deployment routed to the GPU worker",
			async () => ((await predict("vision")).node === "worker-gpu" ? true : undefined),
			5000,
		);
		const replies = await Promise.all(Array.from({ length: 20 }, () => predict("vision")));
		expect(replies.map(r => `${r.status} ${r.node}`)).toEqual(
			Array.from({ length: 20 }, () => "200 worker-gpu"),
		);
		// CPU replicas stay where they were: no churn when a node joins.
		const cpu = await deployment("mlp");
		expect(cpu.placements.every(p => p.nodeID !== "worker-gpu")).toBe(true);
	}, 60_000);

	it("autoscales up under load above target and back down after the delay", async () => {
		await createModel("busy", ["1.0.0"]);
		const created = await request("/deployments", {
			method: "POST",
			body: {
				model: "busy",
				minReplicas: 1,
				maxReplicas: 3,
				autoscaling: { targetOngoingRequests: 0.5, upscaleDelayS: 0.5, downscaleDelayS: 3 },
			},
		});
		expect(created.status).toBe(201);
		await waitForReady("busy", 1, 20_000);

		let stop = false;
		const client = async () => {
			while (!stop) await predict("busy");
		};
		const clients = Array.from({ length: 32 }, () => client());
		const up = await waitFor(
			"an autoscaling event scaling busy up",
			() => autoscalingEvents.find(e => e.model === "busy" && e.to > e.from),
			20_000,
		).finally(() => {
			stop = true;
		});
		await Promise.all(clients);
		expect(up.reason).toMatch(/target/);
		expect((await deployment("busy")).replicas).toBeGreaterThan(1);

		const down = await waitFor(
			"an autoscaling event scaling busy down",
			() => autoscalingEvents.find(e => e.model === "busy" && e.to < e.from),
			20_000,
		);
		expect(down.to).toBe(1);
		await waitForReady("busy", 1, 10_000);
	}, 60_000);

	it("splits a canary 90/10 over 2,000 requests and rolls back to 100/0 in one call", async () => {
		await request("/deployments/mlp", {
			method: "PATCH",
			body: {
				traffic: [
					{ version: "1.0.0", weight: 90 },
					{ version: "2.0.0", weight: 10 },
				],
			},
		});
		await waitFor(
			"the canary in the gateway's routing table",
			async () => {
				const replies = await Promise.all(Array.from({ length: 40 }, () => predict("mlp")));
				return replies.some(
					r => (r.body as { model_version: string }).model_version === "2.0.0",
				)
					? true
					: undefined;
			},
			10_000,
		);
		const counts = new Map<string, number>();
		for (let sent = 0; sent < 2000; sent += 50) {
			const replies = await Promise.all(Array.from({ length: 50 }, () => predict("mlp")));
			for (const reply of replies) {
				expect(reply.status).toBe(200);
				const version = (reply.body as { model_version: string }).model_version;
				counts.set(version, (counts.get(version) ?? 0) + 1);
			}
		}
		const stable = (counts.get("1.0.0") ?? 0) / 2000;
		expect(stable).toBeGreaterThanOrEqual(0.85);
		expect(stable).toBeLessThanOrEqual(0.95);

		const rolledBack = await request("/deployments/mlp/rollback", { method: "POST", body: {} });
		expect(rolledBack.body).toMatchObject({ traffic: [{ version: "1.0.0", weight: 100 }] });
		await waitFor(
			"all traffic on 1.0.0 again",
			async () => {
				const replies = await Promise.all(
					Array.from({ length: 100 }, () => predict("mlp")),
				);
				return replies.every(
					r => (r.body as { model_version: string }).model_version === "1.0.0",
				)
					? true
					: undefined;
			},
			10_000,
		);
	}, 60_000);
});
