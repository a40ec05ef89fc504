/**
 * The Prometheus endpoint of a node (`METRICS_PORT`, `/metrics`): after predictions through
 * the gateway it shows the predictor's per-model families in Triton's style (success and
 * failure counts, rows, batch sizes, latency histograms) and the model cache's figures.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startNode, type StartedNode } from "../../nodes/start-node";
import { freePort } from "../support/node-process";
import { writeMlpModel } from "../unit/onnx/example-models";

const KEY = "mf_metrics-test-key";

describe("the /metrics endpoint", () => {
	let node: StartedNode;
	let metricsUrl: string;
	const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mf-metrics-"));

	beforeAll(async () => {
		const [port, metricsPort] = [await freePort(), await freePort()];
		metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
		node = await startNode(
			"all-in-one",
			{
				HOST: "127.0.0.1",
				PORT: String(port),
				METRICS_PORT: String(metricsPort),
				LOG_LEVEL: "warn",
				MODELFLEET_DATA_DIR: dataDir,
				MODELFLEET_BOOTSTRAP_KEY: KEY,
			},
			() => undefined,
		);
		const base = `${node.httpUrl}/api/v1`;
		const auth = { authorization: `Bearer ${KEY}` };
		await fetch(`${base}/models`, {
			method: "POST",
			headers: { ...auth, "content-type": "application/json" },
			body: JSON.stringify({ name: "mlp", task: "classification", framework: "onnx" }),
		});
		const upload = await fetch(
			`${base}/models/mlp/versions/upload?version=1.0.0&fileName=m.onnx`,
			{
				method: "POST",
				headers: { ...auth, "content-type": "application/octet-stream" },
				body: writeMlpModel(),
			},
		);
		expect(upload.status).toBe(201);
		for (const data of [
			[1, 2, 3, 4],
			[1, 2, 3, 4],
			[1, 2, Number.NaN, 4],
		]) {
			await fetch(`${node.httpUrl}/v2/models/mlp/infer`, {
				method: "POST",
				headers: { ...auth, "content-type": "application/json" },
				body: JSON.stringify({
					inputs: [
						{
							name: "x",
							datatype: "FP32",
							shape: [1, 4],
							data: data.map(v => (Number.isNaN(v) ? "NaN" : v)),
						},
					],
				}),
			});
		}
	});

	afterAll(async () => {
		await node.stop();
		fs.rmSync(dataDir, { recursive: true, force: true });
	});

	it("shows per-model inference and cache metrics in Prometheus text", async () => {
		const response = await fetch(metricsUrl);
		expect(response.status).toBe(200);
		const text = await response.text();
		const sample = (name: string, labels: RegExp) =>
			text
				.split("\n")
				.find(line => line.startsWith(name) && labels.test(line))
				?.split(" ")
				.at(-1);
		expect(
			Number(sample("modelfleet_inference_request_success{", /model="mlp",version="1.0.0"/)),
		).toBe(2);
		expect(Number(sample("modelfleet_inference_count{", /model="mlp"/))).toBe(2);
		expect(Number(sample("modelfleet_inference_request_failure{", /model="mlp"/))).toBe(1);
		expect(text).toMatch(/modelfleet_inference_request_duration_ms_bucket\{[^}]*model="mlp"/);
		expect(text).toMatch(/modelfleet_inference_batch_size_bucket\{[^}]*model="mlp"/);
		expect(Number(sample("modelfleet_model_cache_loads{", /./))).toBeGreaterThanOrEqual(1);
	});
});
