/**
 * The "done when" for the JetStream backend: a fleet whose control nodes keep artifacts
 * in a JetStream Object Store on the real NATS (a bucket of the test's own namespace, deleted
 * after). The control node that took an upload is killed with SIGKILL and its data directory
 * removed; a second control node, started afterwards, serves the model to a worker started
 * afterwards too, and the blob the worker holds hashes to the uploaded file's sha256.
 */
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import { NatsBlobBackend } from "../../lib/artifacts/backends";
import { listBlobFiles } from "../../lib/artifacts/encryption/key-rotation";
import { loadNodeConfig } from "../../lib/config/node-config";
import { writeOnnxModel } from "../../lib/onnx/onnx-writer";
import { sha256Of, sha256OfFile } from "../support/artifact-data";
import { createPostgresDatabase } from "../support/databases";
import { describeWithServices, serviceUrl } from "../support/external-services";
import { CPU_WORKER, FAST_LOOPS, FleetProcesses } from "../support/fleet-processes";
import { TEST_FLEET_SECRET } from "../support/fleet-secret";
import { freePort } from "../support/node-process";
import { apiClient } from "../support/test-node";
import { waitFor } from "../support/wait";
import { MLP_SPEC } from "../unit/onnx/example-models";

const OWNER_KEY = `mf_jetstream-${randomUUID()}`;

describeWithServices(["nats", "postgres"], "artifacts in JetStream across control nodes", () => {
	const cluster = new FleetProcesses("js-artifacts", {
		...FAST_LOOPS,
		MODELFLEET_ARTIFACTS: "nats",
	});
	let database: { url: string; drop(): Promise<void> };
	let api: string;
	const dataDir = (name: string) => `/tmp/${cluster.namespace}/${name}`;
	const control = (name: string) =>
		cluster.start(name, "control", {
			DATABASE_URL: database.url,
			MODELFLEET_BOOTSTRAP_KEY: OWNER_KEY,
		});

	beforeAll(async () => {
		database = await createPostgresDatabase();
		const port = await freePort();
		api = `http://127.0.0.1:${port}/api/v1`;
		cluster.start("gateway", "gateway", { HOST: "127.0.0.1", PORT: String(port) });
		control("control-1");
		await waitFor(
			"the gateway answering with the first control node",
			async () =>
				(await apiClient(api, OWNER_KEY)("/models")).status === 200 ? true : undefined,
			60_000,
			250,
		).catch(cluster.failWithLogs);
	}, 90_000);

	afterAll(async () => {
		await cluster.killAll();
		const config = loadNodeConfig("control", {
			TRANSPORTER: serviceUrl("nats"),
			MODELFLEET_FLEET_SECRET: TEST_FLEET_SECRET,
			MODELFLEET_NAMESPACE: cluster.namespace,
			MODELFLEET_ARTIFACTS: "nats",
		});
		if (config.artifacts.kind === "nats") {
			const bucket = new NatsBlobBackend({ ...config.artifacts });
			await bucket.open();
			await bucket.destroy();
			await bucket.close();
		}
		await database?.drop();
	});

	it("serves a model uploaded to a control node killed since, from a second control node to a new worker", async () => {
		const owner = apiClient(api, OWNER_KEY);
		await owner("/models", {
			method: "POST",
			body: { name: "mlp", task: "classification", framework: "onnx" },
		});
		const file = writeOnnxModel(MLP_SPEC);
		const sha256 = sha256Of(file);
		const uploaded = await fetch(
			`${api}/models/mlp/versions/upload?version=1.0.0&fileName=m.onnx&state=Validated`,
			{ method: "POST", headers: { authorization: `Bearer ${OWNER_KEY}` }, body: file },
		);
		expect(uploaded.status).toBe(201);

		const first = cluster.get("control-1");
		first.kill("SIGKILL");
		await first.exited;
		// Its disk is gone with it: no blob may come from there.
		fs.rmSync(dataDir("control-1"), { recursive: true, force: true });

		control("control-2");
		cluster.start("worker", "worker", { ...CPU_WORKER });
		await waitFor(
			"the second control node and the new worker in the fleet",
			async () => {
				const nodes = await owner("/nodes");
				const list =
					nodes.status === 200
						? (nodes.body as Array<{ nodeID: string; available: boolean }>)
						: [];
				const up = (id: string) => list.some(n => n.nodeID === id && n.available);
				return up("control-2") && up("worker") ? true : undefined;
			},
			60_000,
			250,
		).catch(cluster.failWithLogs);

		await waitFor(
			"the deployment accepted by the second control node",
			async () => {
				const deployed = await owner("/deployments", {
					method: "POST",
					body: { model: "mlp", version: "1.0.0", replicas: 1 },
				});
				return deployed.status === 201 ? true : undefined;
			},
			30_000,
			500,
		).catch(cluster.failWithLogs);
		await waitFor(
			"the model's replica ready on the new worker",
			async () => {
				const view = (await owner("/deployments/mlp")).body as { readyReplicas: number };
				return view.readyReplicas === 1 ? true : undefined;
			},
			60_000,
			250,
		).catch(cluster.failWithLogs);
		const predicted = await owner("/models/mlp/versions/1.0.0/predict", {
			method: "POST",
			body: {
				inputs: [{ name: "x", datatype: "FP32", shape: [1, 4], data: [[1, 2, 3, 4]] }],
				outputs: [{ name: "logits" }],
			},
		});
		expect(predicted).toMatchObject({
			status: 200,
			body: { outputs: [{ name: "logits", data: [0.75, 4] }] },
		});

		// The worker's copy came from the second control node, fetched from JetStream.
		const cached = await listBlobFiles(dataDir("worker"));
		expect(cached).toEqual([expect.stringMatching(new RegExp(`artifact-cache/.*/${sha256}$`))]);
		expect(await sha256OfFile(cached[0])).toEqual({ sha256, size: file.length });
		expect(
			fs.existsSync(
				`${dataDir("control-2")}/artifacts/sha256/${sha256.slice(0, 2)}/${sha256}`,
			),
		).toBe(true);
	}, 180_000);
});
