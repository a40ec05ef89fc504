/**
 * A `serving` node (gateway and predictor in one process) in a fleet over the real NATS server,
 * with a control node and nothing else: it answers the REST API and the Open Inference
 * Protocol, loads models on demand, holds a deployment's replica, and predicts on its own
 * predictor — no worker in the fleet — with the same answers as an all-in-one node.
 */
import { randomUUID } from "node:crypto";
import { createPostgresDatabase } from "../support/databases";
import { describeWithServices } from "../support/external-services";
import { FAST_LOOPS, FleetProcesses } from "../support/fleet-processes";
import { deployAndWait, fleetClient, publishModel, waitForWorkers } from "../support/fleet-api";
import { freePort } from "../support/node-process";
import { startTestNode } from "../support/test-node";
import { waitFor } from "../support/wait";
import { writeMlpModel } from "../unit/onnx/example-models";

const OWNER_KEY = `mf_serving-node-${randomUUID()}`;

const INFER_BODY = JSON.stringify({
	inputs: [{ name: "x", datatype: "FP32", shape: [2, 4], data: [1, 2, 3, 4, -1, 0, 1, 0] }],
});

async function infer(
	base: string,
	model: string,
	key: string,
): Promise<{ status: number; body: unknown }> {
	const response = await fetch(`${base}/v2/models/${model}/infer`, {
		method: "POST",
		headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
		body: INFER_BODY,
	});
	return { status: response.status, body: await response.json() };
}

describeWithServices(["nats", "postgres"], "a serving node in a fleet", () => {
	const cluster = new FleetProcesses("serving", FAST_LOOPS);
	let database: { url: string; drop(): Promise<void> };
	let base: string;

	beforeAll(async () => {
		database = await createPostgresDatabase();
		const port = await freePort();
		cluster.start("control", "control", {
			DATABASE_URL: database.url,
			MODELFLEET_BOOTSTRAP_KEY: OWNER_KEY,
		});
		cluster.start("serving", "serving", {
			HOST: "127.0.0.1",
			PORT: String(port),
			MODELFLEET_CPUS: "2",
			MODELFLEET_MEMORY: "4GiB",
			MODELFLEET_GPUS: "none",
			MODELFLEET_POOL_THREADS: "1",
		});
		base = `http://127.0.0.1:${port}`;
		await waitFor(
			"the serving node ready",
			async () => ((await fetch(`${base}/health/ready`)).status === 200 ? true : undefined),
			60_000,
		).catch(cluster.failWithLogs);
		await waitForWorkers(`${base}/api/v1`, OWNER_KEY, ["serving"]).catch(cluster.failWithLogs);
	}, 120_000);

	afterAll(async () => {
		await cluster.killAll();
		await database?.drop();
	});

	it("predicts on demand and from a deployment placed on it, as an all-in-one node does", async () => {
		await publishModel(`${base}/api/v1`, OWNER_KEY, "mlp", writeMlpModel(), { task: "other" });
		await publishModel(`${base}/api/v1`, OWNER_KEY, "ondemand", writeMlpModel(), {
			task: "other",
		});
		await deployAndWait(`${base}/api/v1`, OWNER_KEY, "mlp").catch(cluster.failWithLogs);
		const deployment = await fleetClient(`${base}/api/v1`, OWNER_KEY).getDeployment("mlp");
		const placements = deployment.placements as Array<{ nodeID: string }>;
		expect(placements.map(p => p.nodeID)).toEqual(["serving"]);

		const deployed = await infer(base, "mlp", OWNER_KEY);
		const onDemand = await infer(base, "ondemand", OWNER_KEY);
		expect(deployed.status).toBe(200);
		expect(onDemand.status).toBe(200);

		const reference = await startTestNode(OWNER_KEY);
		try {
			await publishModel(reference.api, OWNER_KEY, "mlp", writeMlpModel(), { task: "other" });
			const alone = await infer(reference.node.httpUrl!, "mlp", OWNER_KEY);
			expect(alone.status).toBe(200);
			const outputs = (reply: { body: unknown }) =>
				(reply.body as { outputs: unknown }).outputs;
			expect(outputs(deployed)).toEqual(outputs(alone));
			expect(outputs(onDemand)).toEqual(outputs(alone));
		} finally {
			await reference.stop();
		}
	}, 120_000);

	it("asks for a key and keeps tenants apart, as a gateway does", async () => {
		expect((await infer(base, "mlp", "mf_not-a-key-0000000000000000")).status).toBe(401);
		const created = await fetch(`${base}/api/v1/tenants`, {
			method: "POST",
			headers: { authorization: `Bearer ${OWNER_KEY}`, "content-type": "application/json" },
			body: JSON.stringify({ name: "other" }),
		});
		expect(created.status).toBe(201);
		const otherKey = ((await created.json()) as { ownerKey: { key: string } }).ownerKey.key;
		expect((await infer(base, "mlp", otherKey)).status).toBe(404);
	});
});
