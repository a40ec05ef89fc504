/**
 * Readiness that tells the truth, and lost nodes forgotten, over real NATS with separate
 * processes: the gateway is not ready until a predictor joins; control and worker nodes answer
 * probes on their health port; a killed worker leaves `/api/v1/nodes` after the forget time
 * (MODELFLEET_NODE_FORGET_S), or at once when an admin forgets it.
 */
import { randomUUID } from "node:crypto";
import { createPostgresDatabase } from "../support/databases";
import { describeWithServices } from "../support/external-services";
import { FLEET_HEARTBEAT, FleetProcesses } from "../support/fleet-processes";
import { freePort } from "../support/node-process";
import { waitFor } from "../support/wait";
import type { FleetNode } from "../../lib/fleet/node-inventory";

const OWNER_KEY = `mf_readiness-test-${randomUUID()}`;
const FORGET_S = 4;

describeWithServices(["nats", "postgres"], "readiness and forgetting in a fleet over NATS", () => {
	const cluster = new FleetProcesses("ready-forget", {
		MODELFLEET_NODE_FORGET_S: String(FORGET_S),
		MODELFLEET_GPUS: "none",
	});
	let gatewayUrl: string;
	const healthPorts: Record<string, number> = {};
	let database: { url: string; drop(): Promise<void> };

	async function json(url: string, init: RequestInit = {}) {
		const response = await fetch(url, init);
		return {
			status: response.status,
			body: (await response.json()) as Record<string, unknown>,
		};
	}
	const api = (route: string, method = "GET") =>
		json(`${gatewayUrl}/api/v1${route}`, {
			method,
			headers: { authorization: `Bearer ${OWNER_KEY}` },
		});
	const probe = (name: string, what: "live" | "ready") =>
		json(`http://127.0.0.1:${healthPorts[name]}/health/${what}`);
	async function nodes(): Promise<FleetNode[]> {
		const answer = await api("/nodes");
		if (answer.status !== 200) throw new Error(`GET /api/v1/nodes answered ${answer.status}`);
		return answer.body as unknown as FleetNode[];
	}
	async function startWorker(name: string): Promise<void> {
		healthPorts[name] = await freePort();
		cluster.start(name, "worker", {
			MODELFLEET_HEALTH_PORT: String(healthPorts[name]),
			MODELFLEET_POOL_THREADS: "1",
		});
	}

	beforeAll(async () => {
		database = await createPostgresDatabase();
	});

	afterAll(async () => {
		await cluster.killAll();
		await database?.drop();
	});

	it("keeps the gateway unready, naming the predictor, until a worker joins", async () => {
		const port = await freePort();
		gatewayUrl = `http://127.0.0.1:${port}`;
		healthPorts["control-1"] = await freePort();
		cluster.start("gateway-1", "gateway", { HOST: "127.0.0.1", PORT: String(port) });
		cluster.start("control-1", "control", {
			DATABASE_URL: database.url,
			MODELFLEET_BOOTSTRAP_KEY: OWNER_KEY,
			MODELFLEET_HEALTH_PORT: String(healthPorts["control-1"]),
		});
		const unready = await waitFor(
			"the gateway to miss only a predictor",
			async () => {
				const answer = await json(`${gatewayUrl}/health/ready`).catch(() => null);
				return answer?.body.missing?.toString() === "predictor" ? answer : undefined;
			},
			20_000,
		).catch(cluster.failWithLogs);
		expect(unready).toEqual({
			status: 503,
			body: { ready: false, missing: ["predictor"], nodeID: "gateway-1" },
		});
		// The control node's own probe: its database, its services, NATS.
		expect(await probe("control-1", "ready")).toEqual({
			status: 200,
			body: { ready: true, missing: [], nodeID: "control-1" },
		});
		expect((await probe("control-1", "live")).status).toBe(200);

		await startWorker("worker-1");
		await waitFor(
			"the gateway ready once a worker joined",
			async () =>
				(await json(`${gatewayUrl}/health/ready`)).status === 200 ? true : undefined,
			20_000,
		).catch(cluster.failWithLogs);
		await waitFor(
			"the worker's own probe ready",
			async () => {
				const answer = await probe("worker-1", "ready").catch(() => null);
				return answer?.status === 200 ? answer : undefined;
			},
			10_000,
		);
		expect((await probe("worker-1", "live")).body).toEqual({
			status: "live",
			nodeID: "worker-1",
		});
	});

	it("forgets a killed worker at once when an admin asks, and refuses a node that is up", async () => {
		await startWorker("worker-2");
		await waitFor(
			"worker-2 listed",
			async () => (await nodes()).find(n => n.nodeID === "worker-2" && n.available),
			15_000,
		).catch(cluster.failWithLogs);
		expect(await api("/nodes/worker-1", "DELETE")).toMatchObject({
			status: 409,
			body: { type: "STATE_CONFLICT" },
		});
		expect(await api("/nodes/no-such-node", "DELETE")).toMatchObject({
			status: 404,
			body: { type: "NOT_FOUND" },
		});

		cluster.get("worker-2").kill("SIGKILL");
		await waitFor(
			"worker-2 shown unavailable",
			async () =>
				(await nodes()).find(
					n => n.nodeID === "worker-2" && n.unavailableReason === "disconnected",
				),
			(FLEET_HEARTBEAT.timeoutS * 2 + 2) * 1000,
			50,
		);
		const forgotten = await api("/nodes/worker-2", "DELETE");
		const at = Date.now();
		expect(forgotten).toEqual({ status: 200, body: { forgotten: "worker-2" } });
		expect((await nodes()).map(n => n.nodeID)).not.toContain("worker-2");
		// Long before the forget time would have done it.
		expect(Date.now() - at).toBeLessThan(FORGET_S * 1000);
	});

	it("forgets a killed worker by itself after MODELFLEET_NODE_FORGET_S", async () => {
		cluster.get("worker-1").kill("SIGKILL");
		await waitFor(
			"worker-1 shown disconnected",
			async () =>
				(await nodes()).find(
					n => n.nodeID === "worker-1" && n.unavailableReason === "disconnected",
				),
			(FLEET_HEARTBEAT.timeoutS * 2 + 2) * 1000,
			50,
		);
		const lostAt = Date.now();
		await waitFor(
			"worker-1 gone from /api/v1/nodes",
			async () => ((await nodes()).some(n => n.nodeID === "worker-1") ? undefined : true),
			(FORGET_S + 5) * 1000,
			100,
		).catch(cluster.failWithLogs);
		// Not before the forget time (the control node saw it lost up to a poll earlier).
		expect(Date.now() - lostAt).toBeGreaterThanOrEqual(FORGET_S * 1000 - 1500);
		expect((await nodes()).map(n => n.nodeID).sort()).toEqual(["control-1", "gateway-1"]);
		// With no predictor left, the gateway says so again.
		expect(await json(`${gatewayUrl}/health/ready`)).toMatchObject({
			status: 503,
			body: { missing: ["predictor"] },
		});
	});
});
