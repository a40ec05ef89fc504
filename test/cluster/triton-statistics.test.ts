/**
 * Triton's statistics in a fleet of real processes over the real NATS server: a gateway, a
 * control node and two CPU workers each holding a replica of the model. Each worker counts what
 * it serves; the gateway's `/v2/models/{m}/stats` gathers them, so its counts equal the
 * requests sent whichever worker answered them.
 */
import { randomUUID } from "node:crypto";
import type { DeploymentView } from "../../lib/scheduler/deployment-store";
import { createPostgresDatabase } from "../support/databases";
import { describeWithServices } from "../support/external-services";
import { publishModel, waitForWorkers } from "../support/fleet-api";
import { InferenceClient } from "../../lib/grpc/grpc-client";
import { FAST_LOOPS, FleetProcesses } from "../support/fleet-processes";
import { freePort } from "../support/node-process";
import { apiClient } from "../support/test-node";
import { waitFor } from "../support/wait";
import { writeMlpModel } from "../unit/onnx/example-models";

const OWNER_KEY = `mf_triton-stats-${randomUUID()}`;
const WORKERS = ["worker-1", "worker-2"];

interface Stat {
	name: string;
	version: string;
	inference_count: number;
	execution_count: number;
	inference_stats: Record<string, { count: number; ns: number }>;
}

describeWithServices(["nats", "postgres"], "Triton statistics across a fleet", () => {
	const cluster = new FleetProcesses("triton-stats", FAST_LOOPS);
	let database: { url: string; drop(): Promise<void> };
	let base: string;
	let grpcPort: number;
	/** Every infer request sent, and by the node that answered. */
	let sent = 0;
	let failedSent = 0;
	const byNode = new Map<string, number>();

	async function infer(rows = 1): Promise<number> {
		const response = await fetch(`${base}/v2/models/mlp/infer`, {
			method: "POST",
			headers: { authorization: `Bearer ${OWNER_KEY}`, "content-type": "application/json" },
			body: JSON.stringify({
				inputs: [
					{
						name: "x",
						datatype: "FP32",
						shape: [rows, 4],
						data: Array(rows * 4).fill(1),
					},
				],
			}),
		});
		await response.arrayBuffer();
		if (response.status === 200) {
			sent++;
			const node = response.headers.get("x-modelfleet-node") ?? "";
			byNode.set(node, (byNode.get(node) ?? 0) + 1);
		}
		return response.status;
	}

	beforeAll(async () => {
		database = await createPostgresDatabase();
		grpcPort = await freePort();
		base = await cluster.startBasicFleet({
			// Only the gateway serves gRPC; the other roles ignore the setting.
			env: { MODELFLEET_GRPC_PORT: String(grpcPort) },
			ownerKey: OWNER_KEY,
			databaseUrl: database.url,
			workers: WORKERS,
		});
		const api = `${base}/api/v1`;
		const owner = apiClient(api, OWNER_KEY);
		await waitForWorkers(api, OWNER_KEY, WORKERS).catch(cluster.failWithLogs);
		await publishModel(api, OWNER_KEY, "mlp", writeMlpModel());
		const deployed = await owner("/deployments", {
			method: "POST",
			body: { model: "mlp", version: "1.0.0", replicas: 2 },
		});
		expect(deployed.status).toBe(201);
		await waitFor(
			"2 ready replicas, each answering",
			async () => {
				const view = (await owner("/deployments/mlp")).body as DeploymentView;
				if (view.readyReplicas !== 2) return undefined;
				for (let i = 0; i < 10; i++) await infer();
				return WORKERS.every(w => (byNode.get(w) ?? 0) > 0) ? true : undefined;
			},
			60_000,
			250,
		).catch(cluster.failWithLogs);
	}, 180_000);

	afterAll(async () => {
		await cluster.killAll();
		await database?.drop();
	});

	it("counts every request the workers served, gathered by the gateway", async () => {
		const rows = [1, 3, 2, 5];
		let rowsSent = sent; // the requests so far were of one row each
		for (let i = 0; i < 40; i++) {
			const n = rows[i % rows.length];
			expect(await infer(n)).toBe(200);
			rowsSent += n;
		}
		// Refused by the worker once the version is known: counted as failures.
		for (let i = 0; i < 3; i++) {
			const bad = await fetch(`${base}/v2/models/mlp/infer`, {
				method: "POST",
				headers: {
					authorization: `Bearer ${OWNER_KEY}`,
					"content-type": "application/json",
				},
				body: JSON.stringify({
					inputs: [{ name: "x", datatype: "FP32", shape: [1, 3], data: [1, 2, 3] }],
				}),
			});
			expect(bad.status).toBe(400);
			failedSent++;
		}
		expect(WORKERS.every(w => (byNode.get(w) ?? 0) > 0)).toBe(true);
		const answer = await fetch(`${base}/v2/models/mlp/stats`, {
			headers: { authorization: `Bearer ${OWNER_KEY}` },
		});
		expect(answer.status).toBe(200);
		const { model_stats: stats } = (await answer.json()) as { model_stats: Stat[] };
		expect(stats).toHaveLength(1);
		const [stat] = stats;
		expect(stat).toMatchObject({ name: "mlp", version: "1.0.0", inference_count: rowsSent });
		expect(stat.inference_stats.success.count).toBe(sent);
		expect(stat.inference_stats.fail.count).toBe(failedSent);
		expect(stat.inference_stats.compute_infer.count).toBe(sent);
		expect(stat.execution_count).toBeGreaterThan(0);
		expect(stat.execution_count).toBeLessThanOrEqual(sent);
		const all = (await (
			await fetch(`${base}/v2/models/stats`, {
				headers: { authorization: `Bearer ${OWNER_KEY}` },
			})
		).json()) as { model_stats: Stat[] };
		expect(all.model_stats).toEqual(stats);
	});

	it("serves the gRPC protocol through the gateway: raw inference equal to REST, readiness, statistics", async () => {
		const client = new InferenceClient(`127.0.0.1:${grpcPort}`, { key: OWNER_KEY });
		try {
			const x = [0.5, -1, 2, 0.25, 1, 1, 1, 1];
			const rest = (await (
				await fetch(`${base}/v2/models/mlp/infer`, {
					method: "POST",
					headers: {
						authorization: `Bearer ${OWNER_KEY}`,
						"content-type": "application/json",
					},
					body: JSON.stringify({
						inputs: [{ name: "x", datatype: "FP32", shape: [2, 4], data: x }],
					}),
				})
			).json()) as { outputs: { name: string; data: number[] }[] };
			const answer = await client.call<{
				outputs: { name: string }[];
				raw_output_contents: Buffer[];
			}>("ModelInfer", {
				model_name: "mlp",
				inputs: [{ name: "x", datatype: "FP32", shape: [2, 4] }],
				raw_input_contents: [Buffer.from(Float32Array.from(x).buffer)],
			});
			answer.outputs.forEach((output, i) => {
				const bytes = Buffer.from(answer.raw_output_contents[i]);
				expect(Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, 4))).toEqual(
					rest.outputs.find(o => o.name === output.name)?.data,
				);
			});
			expect(await client.call("ModelReady", { name: "mlp" })).toEqual({ ready: true });
			const stats = await client.call<{ model_stats: Stat[] }>("ModelStatistics", {
				name: "mlp",
			});
			const http = (await (
				await fetch(`${base}/v2/models/mlp/stats`, {
					headers: { authorization: `Bearer ${OWNER_KEY}` },
				})
			).json()) as { model_stats: Stat[] };
			expect(stats.model_stats[0].inference_stats.success.count).toBe(
				http.model_stats[0].inference_stats.success.count,
			);
		} finally {
			client.close();
		}
	});
});
