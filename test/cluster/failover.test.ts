/**
 * A replica's worker killed with SIGKILL under load, in a fleet with the default heartbeat
 * (5 s beats, 15 s timeout): the gateway notices the vanished node from NATS within a fraction
 * of a second and re-sends its pending predictions to the other replica, so no request fails
 * and none takes as long as a second — the heartbeat would have made some wait 15 s.
 */
import { randomUUID } from "node:crypto";
import { percentile } from "../../bench/support/stats";
import type { DeploymentView } from "../../lib/scheduler/deployment-store";
import { createPostgresDatabase } from "../support/databases";
import { describeWithServices } from "../support/external-services";
import { FAST_LOOPS, FleetProcesses } from "../support/fleet-processes";
import { apiClient } from "../support/test-node";
import { waitFor } from "../support/wait";
import { publishModel, waitForWorkers } from "../support/fleet-api";
import { writeMlpModel } from "../unit/onnx/example-models";

const OWNER_KEY = `mf_failover-${randomUUID()}`;
const WORKERS = ["worker-1", "worker-2"];
/** Moleculer's own defaults, as a production fleet runs: only the NATS probe can be fast. */
const DEFAULT_HEARTBEAT = {
	MODELFLEET_HEARTBEAT_INTERVAL_S: "5",
	MODELFLEET_HEARTBEAT_TIMEOUT_S: "15",
};
const CLIENTS = 8;
const LOAD_MS = 15_000;
const KILL_AFTER_MS = 4_000;

describeWithServices(["nats", "postgres"], "failover when a replica's worker dies", () => {
	const cluster = new FleetProcesses("failover", { ...FAST_LOOPS, ...DEFAULT_HEARTBEAT });
	let database: { url: string; drop(): Promise<void> };
	let base: string;
	let api: string;

	beforeAll(async () => {
		database = await createPostgresDatabase();
		base = await cluster.startBasicFleet({
			ownerKey: OWNER_KEY,
			databaseUrl: database.url,
			workers: WORKERS,
		});
		api = `${base}/api/v1`;
		const owner = apiClient(api, OWNER_KEY);
		await waitForWorkers(api, OWNER_KEY, WORKERS).catch(cluster.failWithLogs);

		await publishModel(api, OWNER_KEY, "mlp", writeMlpModel());
		const deployed = await owner("/deployments", {
			method: "POST",
			body: { model: "mlp", version: "1.0.0", replicas: 2 },
		});
		expect(deployed.status).toBe(201);
		await waitFor(
			"2 ready replicas, each answering through the gateway",
			async () => {
				const view = (await owner("/deployments/mlp")).body as DeploymentView;
				if (view.readyReplicas !== 2) return undefined;
				const seen = new Set<string>();
				for (let i = 0; i < 20; i++) seen.add((await infer()).node ?? "");
				return WORKERS.every(w => seen.has(w)) ? true : undefined;
			},
			30_000,
			250,
		).catch(cluster.failWithLogs);
	}, 120_000);

	afterAll(async () => {
		await cluster.killAll();
		await database?.drop();
	});

	async function infer(): Promise<{ status: number; node: string | null; ms: number }> {
		const started = performance.now();
		const response = await fetch(`${base}/v2/models/mlp/infer`, {
			method: "POST",
			headers: { authorization: `Bearer ${OWNER_KEY}`, "content-type": "application/json" },
			body: JSON.stringify({
				inputs: [{ name: "x", datatype: "FP32", shape: [1, 4], data: [1, 2, 3, 4] }],
			}),
		});
		await response.arrayBuffer();
		return {
			status: response.status,
			node: response.headers.get("x-modelfleet-node"),
			ms: performance.now() - started,
		};
	}

	it("loses no request and keeps every request under 1 s when a replica's worker is killed -9", async () => {
		const victim = WORKERS[0];
		const latencies: number[] = [];
		/** Requests over 500 ms: when they started, relative to the kill, and how long they took. */
		const slow: string[] = [];
		let killedAt = Number.POSITIVE_INFINITY;
		const failures: string[] = [];
		let afterKill = 0;
		let killed = false;
		const deadline = Date.now() + LOAD_MS;
		const client = async (): Promise<void> => {
			while (Date.now() < deadline) {
				const reply = await infer().catch((err: Error) => ({
					status: 0,
					node: err.message,
					ms: 0,
				}));
				latencies.push(reply.ms);
				if (reply.ms > 500)
					slow.push(
						`${(performance.now() - reply.ms - killedAt).toFixed(0)} ms: ${reply.ms.toFixed(0)} ms`,
					);
				if (killed) afterKill++;
				if (reply.status !== 200) failures.push(`${reply.status} ${reply.node}`);
			}
		};
		const clients = Array.from({ length: CLIENTS }, () => client());
		await new Promise(resolve => setTimeout(resolve, KILL_AFTER_MS));
		killedAt = performance.now();
		cluster.get(victim).kill("SIGKILL");
		killed = true;
		await Promise.all(clients);

		const max = Math.max(...latencies);
		console.log(
			`failover: ${latencies.length} requests by ${CLIENTS} clients over ${LOAD_MS / 1000} s, ` +
				`${afterKill} after the kill, ${failures.length} failed; latency p50 ` +
				`${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms, ` +
				`max ${max.toFixed(1)} ms; over 500 ms (start after the kill: took): ${slow.join(", ") || "none"}`,
		);
		expect(failures.slice(0, 5)).toEqual([]);
		expect(afterKill).toBeGreaterThan(100);
		expect(max).toBeLessThan(1000);
	}, 60_000);
});
