/**
 * Encryption at rest on a real all-in-one node: with MODELFLEET_ENCRYPTION_KEY set, a model
 * file, a dataset and what training makes of it are sealed on disk (a marker string in each is
 * found in no file of the data directory), the node serves them, restarts on the same data
 * directory and serves again; rotate-key re-wraps every blob; a wrong or missing key is a
 * clear start-up error.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { listBlobFiles } from "../../lib/artifacts/encryption/key-rotation";
import { MasterKey } from "../../lib/artifacts/encryption/master-key";
import { statBlobFile } from "../../lib/artifacts/blob-file";
import { writeOnnxModel } from "../../lib/onnx/onnx-writer";
import { rotateKey } from "../../nodes/rotate-key";
import { startNode, type StartedNode } from "../../nodes/start-node";
import { freePort } from "../support/node-process";
import { apiClient, FAST_LOOPS_CPU_ONLY } from "../support/test-node";
import { waitFor } from "../support/wait";
import { MLP_SPEC } from "../unit/onnx/example-models";

const KEY = "mf_encryption-test-owner-key";
const MODEL_MARKER = "MODEL_MARKER_PLAINTEXT_5c1e";
const DATA_MARKER = "MARKER_PLAINTEXT_7f3a";
const IRIS = path.join(__dirname, "..", "fixtures", "datasets", "iris.csv");

/** Iris with its first feature column named after the marker. */
function markedDataset(): Buffer {
	const [header, ...rows] = fs.readFileSync(IRIS, "utf8").trim().split("\n");
	return Buffer.from([header.replace("sepal_length", DATA_MARKER), ...rows].join("\n") + "\n");
}

/** Every file under `dir` (recursively) whose bytes contain `marker`, as paths relative to it. */
function filesContaining(dir: string, marker: string, skip: string[] = []): string[] {
	const found: string[] = [];
	const walk = (at: string): void => {
		for (const entry of fs.readdirSync(at, { withFileTypes: true })) {
			const full = path.join(at, entry.name);
			const relative = path.relative(dir, full);
			if (skip.some(s => relative === s || relative.startsWith(s + path.sep))) continue;
			if (entry.isDirectory()) walk(full);
			else if (entry.isFile() && fs.readFileSync(full).includes(marker)) found.push(relative);
		}
	};
	walk(dir);
	return found;
}

const PREDICT_BODY = {
	inputs: [{ name: "x", datatype: "FP32", shape: [1, 4], data: [[1, 2, 3, 4]] }],
	outputs: [{ name: "logits" }],
};

describe("encryption at rest on an all-in-one node", () => {
	const oldKey = MasterKey.generate();
	const newKey = MasterKey.generate();
	let dataDir: string;
	let plaintextDir: string;
	let node: StartedNode | null = null;

	const envFor = async (key: MasterKey | null): Promise<Record<string, string>> => ({
		...FAST_LOOPS_CPU_ONLY,
		HOST: "127.0.0.1",
		PORT: String(await freePort()),
		METRICS_PORT: "off",
		MODELFLEET_GRPC_PORT: "off",
		LOG_LEVEL: "warn",
		MODELFLEET_DATA_DIR: dataDir,
		MODELFLEET_PLAINTEXT_DIR: plaintextDir,
		MODELFLEET_BOOTSTRAP_KEY: KEY,
		...(key ? { MODELFLEET_ENCRYPTION_KEY: key.toBase64() } : {}),
	});

	async function start(key: MasterKey | null) {
		node = await startNode("all-in-one", await envFor(key), () => undefined);
		return apiClient(`${node.httpUrl}/api/v1`, KEY);
	}

	async function stop(): Promise<void> {
		await node?.stop();
		node = null;
	}

	beforeAll(() => {
		dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mf-encrypted-node-"));
		plaintextDir = fs.mkdtempSync(path.join(os.tmpdir(), "mf-plaintext-views-"));
	});

	afterAll(async () => {
		await stop();
		fs.rmSync(dataDir, { recursive: true, force: true });
		fs.rmSync(plaintextDir, { recursive: true, force: true });
	});

	it("keeps no plaintext of a model, a dataset or a trained model on disk, and serves them", async () => {
		const request = await start(oldKey);
		const auth = { authorization: `Bearer ${KEY}` };
		for (const [name, framework] of [
			["mlp", "onnx"],
			["trained", "tfjs"],
		]) {
			await request("/models", {
				method: "POST",
				body: { name, task: "classification", framework },
			});
		}
		const model = writeOnnxModel({ ...MLP_SPEC, docString: MODEL_MARKER });
		const form = new FormData();
		form.append("file", new Blob([model]), "mlp.onnx");
		const uploaded = await fetch(
			`${node?.httpUrl}/api/v1/models/mlp/versions/upload?version=1.0.0`,
			{
				method: "POST",
				headers: auth,
				body: form,
			},
		);
		expect(uploaded.status).toBe(201);
		const dataset = await fetch(
			`${node?.httpUrl}/api/v1/datasets?name=marked&labelColumn=label`,
			{
				method: "POST",
				headers: { ...auth, "content-type": "text/csv" },
				body: markedDataset(),
			},
		);
		expect(dataset.status).toBe(201);

		const predicted = await request("/models/mlp/versions/1.0.0/predict", {
			method: "POST",
			body: PREDICT_BODY,
		});
		expect(predicted).toMatchObject({
			status: 200,
			body: { outputs: [{ name: "logits", data: [0.75, 4] }] },
		});

		// Training reads the sealed dataset and stores a checkpoint and a model, sealed too.
		const queued = await request("/training-jobs", {
			method: "POST",
			body: {
				target: "trained",
				dataset: "marked@1",
				labelColumn: "label",
				epochs: 4,
				checkpointEvery: 2,
				seed: 1,
			},
		});
		expect(queued.status).toBe(201);
		const jobId = (queued.body as { id: string }).id;
		await waitFor(
			"the training job completed",
			async () => {
				const { body } = await request(`/training-jobs/${jobId}`);
				const job = body as { state: string; error?: string };
				if (job.state === "failed") throw new Error(`job failed: ${job.error}`);
				return job.state === "completed" ? job : undefined;
			},
			60_000,
		);

		// The metadata database records dataset column names by design: only db/ is skipped.
		expect(filesContaining(dataDir, DATA_MARKER, ["db"])).toEqual([]);
		expect(filesContaining(dataDir, MODEL_MARKER)).toEqual([]);
		const blobs = await listBlobFiles(dataDir);
		expect(blobs.length).toBeGreaterThanOrEqual(4); // model, dataset, checkpoint, trained model
		for (const blob of blobs) expect((await statBlobFile(blob)).keyId).toBe(oldKey.id);
		// A model loaded from a sealed blob gets a decrypted copy outside the data directory.
		expect(fs.readdirSync(path.join(plaintextDir, "predictor")).length).toBeGreaterThan(0);

		await stop();
		expect(fs.readdirSync(plaintextDir)).toEqual([]);
	}, 120_000);

	it("serves the sealed model again after a restart on the same data directory", async () => {
		const request = await start(oldKey);
		expect(
			await request("/models/mlp/versions/1.0.0/predict", {
				method: "POST",
				body: PREDICT_BODY,
			}),
		).toMatchObject({ status: 200, body: { outputs: [{ data: [0.75, 4] }] } });
		await stop();
	}, 60_000);

	it("refuses to start with a wrong key or none, naming the setting", async () => {
		const wrong = MasterKey.generate();
		await expect(start(wrong)).rejects.toThrow(
			new RegExp(`MODELFLEET_ENCRYPTION_KEY: is the wrong key .*${oldKey.id}.*${wrong.id}`),
		);
		await expect(start(null)).rejects.toThrow(
			/MODELFLEET_ENCRYPTION_KEY: is not set, but the artifacts .* are encrypted/,
		);
	});

	it("rotate-key re-wraps every blob to the new key, which then serves", async () => {
		const before = await listBlobFiles(dataDir);
		const lines: string[] = [];
		const { status, report } = await rotateKey(
			{
				MODELFLEET_DATA_DIR: dataDir,
				MODELFLEET_ENCRYPTION_KEY: oldKey.toBase64(),
				MODELFLEET_ENCRYPTION_KEY_NEW: newKey.toBase64(),
			},
			line => lines.push(line),
		);
		expect(status).toBe(0);
		expect(report).toMatchObject({ rewrapped: before.length, sealed: 0, failed: [] });
		const after = await listBlobFiles(dataDir);
		expect(after.sort()).toEqual(before.sort());
		for (const blob of after) expect((await statBlobFile(blob)).keyId).toBe(newKey.id);
		expect(filesContaining(dataDir, MODEL_MARKER)).toEqual([]);

		await expect(start(oldKey)).rejects.toThrow(/MODELFLEET_ENCRYPTION_KEY: is the wrong key/);
		const request = await start(newKey);
		expect(
			await request("/models/mlp/versions/1.0.0/predict", {
				method: "POST",
				body: PREDICT_BODY,
			}),
		).toMatchObject({ status: 200, body: { outputs: [{ data: [0.75, 4] }] } });
		await stop();
	}, 60_000);
});
