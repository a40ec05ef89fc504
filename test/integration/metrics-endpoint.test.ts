/**
 * The Prometheus endpoint of a node (`METRICS_PORT`, `/metrics`): after predictions through
 * the gateway it shows the predictor's per-model families in Triton's style (success and
 * failure counts, rows, batch sizes, latency histograms) and the model cache's figures.
 */
import { freePort } from "../support/node-process";
import { startTestNode, type TestNode } from "../support/test-node";
import { writeMlpModel } from "../unit/onnx/example-models";

const KEY = "mf_metrics-test-key";

describe("the /metrics endpoint", () => {
	let testNode: TestNode;
	let metricsUrl: string;

	beforeAll(async () => {
		const metricsPort = await freePort();
		metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
		testNode = await startTestNode(KEY, { METRICS_PORT: String(metricsPort) });
		const { node, api: base } = testNode;
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

	afterAll(() => testNode.stop());

	it("keeps two tenants' models of one name in separate series, labelled by tenant", async () => {
		const owner = testNode.request;
		const tenantA = ((await owner("/tenant")).body as { id: string }).id;
		const created = await owner("/tenants", { method: "POST", body: { name: "metrics-b" } });
		expect(created.status).toBe(201);
		const { tenant, ownerKey } = created.body as {
			tenant: { id: string };
			ownerKey: { key: string };
		};
		const auth = { authorization: `Bearer ${ownerKey.key}` };
		await fetch(`${testNode.api}/models`, {
			method: "POST",
			headers: { ...auth, "content-type": "application/json" },
			body: JSON.stringify({ name: "mlp", task: "classification", framework: "onnx" }),
		});
		const upload = await fetch(
			`${testNode.api}/models/mlp/versions/upload?version=1.0.0&fileName=m.onnx`,
			{ method: "POST", headers: auth, body: writeMlpModel() },
		);
		expect(upload.status).toBe(201);
		const infer = await fetch(`${testNode.node.httpUrl}/v2/models/mlp/infer`, {
			method: "POST",
			headers: { ...auth, "content-type": "application/json" },
			body: JSON.stringify({
				inputs: [{ name: "x", datatype: "FP32", shape: [1, 4], data: [1, 2, 3, 4] }],
			}),
		});
		expect(infer.status).toBe(200);

		const text = await (await fetch(metricsUrl)).text();
		const successes = (tenantId: string) =>
			Number(
				text
					.split("\n")
					.find(
						line =>
							line.startsWith("modelfleet_inference_request_success_total{") &&
							line.includes(`tenant="${tenantId}"`) &&
							line.includes('model="mlp"'),
					)
					?.split(" ")
					.at(-1),
			);
		expect(successes(tenantA)).toBe(2);
		expect(successes(tenant.id)).toBe(1);
	});

	it('counts infer calls to unknown models under one series, model="_unknown"', async () => {
		const auth = { authorization: `Bearer ${KEY}`, "content-type": "application/json" };
		const body = JSON.stringify({
			inputs: [{ name: "x", datatype: "FP32", shape: [1, 4], data: [1, 2, 3, 4] }],
		});
		for (let i = 0; i < 40; i++) {
			const response = await fetch(`${testNode.node.httpUrl}/v2/models/nope-${i}/infer`, {
				method: "POST",
				headers: auth,
				body,
			});
			expect(response.status).toBe(404);
			await response.text();
		}
		const text = await (await fetch(metricsUrl)).text();
		expect(text).not.toMatch(/model="nope-/);
		const unknown = text
			.split("\n")
			.find(
				line =>
					line.startsWith("modelfleet_inference_request_failure_total{") &&
					line.includes('model="_unknown"'),
			);
		expect(Number(unknown?.split(" ").at(-1))).toBe(40);
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
			Number(
				sample(
					"modelfleet_inference_request_success_total{",
					/model="mlp",version="1.0.0"/,
				),
			),
		).toBe(2);
		expect(Number(sample("modelfleet_inference_count_total{", /model="mlp"/))).toBe(2);
		expect(Number(sample("modelfleet_inference_request_failure_total{", /model="mlp"/))).toBe(
			1,
		);
		expect(text).toMatch(
			/modelfleet_inference_request_duration_seconds_bucket\{[^}]*model="mlp"/,
		);
		expect(text).toMatch(/modelfleet_inference_batch_size_bucket\{[^}]*model="mlp"/);
		expect(Number(sample("modelfleet_model_cache_loads_total", /./))).toBeGreaterThanOrEqual(1);
	});
});
