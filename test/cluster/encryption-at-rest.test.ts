/**
 * Encryption at rest across a fleet of real processes (gateway, control, worker) over the real
 * NATS server, every node with the same MODELFLEET_ENCRYPTION_KEY: a model whose file holds a
 * marker string is uploaded, deployed on the worker and served; neither the control node's
 * store nor the worker's cache of downloaded blobs holds the marker on disk.
 */
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { statBlobFile } from "../../lib/artifacts/blob-file";
import { listBlobFiles } from "../../lib/artifacts/encryption/key-rotation";
import { MasterKey } from "../../lib/artifacts/encryption/master-key";
import { writeOnnxModel } from "../../lib/onnx/onnx-writer";
import { createPostgresDatabase } from "../support/databases";
import { describeWithServices } from "../support/external-services";
import { FAST_LOOPS, FleetProcesses } from "../support/fleet-processes";
import { freePort } from "../support/node-process";
import { apiClient } from "../support/test-node";
import { deployAndWait, publishModel, waitForWorkers } from "../support/fleet-api";
import { MLP_SPEC } from "../unit/onnx/example-models";

const OWNER_KEY = `mf_sealed-${randomUUID()}`;
const MARKER = "MARKER_PLAINTEXT_7f3a";

/** Every file under `dir` whose bytes contain `marker`. */
function filesContaining(dir: string, marker: string): string[] {
	if (!fs.existsSync(dir)) return [];
	return (fs.readdirSync(dir, { recursive: true }) as string[])
		.map(name => path.join(dir, name))
		.filter(file => fs.statSync(file).isFile() && fs.readFileSync(file).includes(marker));
}

describeWithServices(["nats", "postgres"], "encryption at rest across a fleet", () => {
	const key = MasterKey.generate();
	const cluster = new FleetProcesses("sealed", {
		...FAST_LOOPS,
		MODELFLEET_ENCRYPTION_KEY: key.toBase64(),
	});
	let database: { url: string; drop(): Promise<void> };
	let api: string;
	const dataDir = (name: string) => `/tmp/${cluster.namespace}/${name}`;

	beforeAll(async () => {
		database = await createPostgresDatabase();
		const port = await freePort();
		api = `http://127.0.0.1:${port}/api/v1`;
		cluster.start("gateway", "gateway", { HOST: "127.0.0.1", PORT: String(port) });
		cluster.start("control", "control", {
			DATABASE_URL: database.url,
			MODELFLEET_BOOTSTRAP_KEY: OWNER_KEY,
		});
		cluster.start("worker", "worker", {
			MODELFLEET_GPUS: "none",
			MODELFLEET_POOL_THREADS: "1",
			MODELFLEET_PLAINTEXT_DIR: `/tmp/${cluster.namespace}-plain`,
		});
		await waitForWorkers(api, OWNER_KEY, ["worker"]).catch(cluster.failWithLogs);
	}, 90_000);

	afterAll(async () => {
		await cluster.killAll();
		fs.rmSync(`/tmp/${cluster.namespace}-plain`, { recursive: true, force: true });
		await database?.drop();
	});

	it("serves a model from the worker with no plaintext in the store or the worker's cache", async () => {
		const owner = apiClient(api, OWNER_KEY);
		await publishModel(
			api,
			OWNER_KEY,
			"mlp",
			writeOnnxModel({ ...MLP_SPEC, docString: MARKER }),
		);
		await deployAndWait(api, OWNER_KEY, "mlp").catch(cluster.failWithLogs);
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

		// The worker downloaded the blob into its cache, sealed under the same key.
		const cached = await listBlobFiles(dataDir("worker"));
		expect(cached).toEqual([expect.stringContaining(`${dataDir("worker")}/artifact-cache/`)]);
		expect((await statBlobFile(cached[0])).keyId).toBe(key.id);
		for (const name of ["control", "worker", "gateway"]) {
			expect({ name, found: filesContaining(dataDir(name), MARKER) }).toEqual({
				name,
				found: [],
			});
		}
	}, 120_000);
});
