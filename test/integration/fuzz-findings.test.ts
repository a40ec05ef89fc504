/**
 * Requests the API fuzzer (test/cluster/api-fuzz.test.ts) found answering 500, each kept here as
 * a plain reproduction against an all-in-one node: every one must be a client error.
 */
import { startTestNode, type TestNode } from "../support/test-node";
import { writeMlpModel } from "../unit/onnx/example-models";

const KEY = "mf_fuzz-findings-owner";

describe("requests the fuzzer found answering 500", () => {
	let node: TestNode;

	beforeAll(async () => {
		node = await startTestNode(KEY, { MODELFLEET_POOL_THREADS: "1" });
	}, 60_000);

	afterAll(() => node?.stop());

	it("a deployment of an unknown model with autoscaling and null replicas: 404, not 500 (seed 618312642)", async () => {
		const reply = await node.request("/deployments", {
			method: "POST",
			body: {
				model: "fz-none",
				version: "1.0.0",
				replicas: null,
				resources: null,
				autoscaling: { minReplicas: 1, maxReplicas: 2, targetOngoingRequests: 2 },
			},
		});
		expect(reply.status).toBeGreaterThanOrEqual(400);
		expect(reply.status).toBeLessThan(500);
	});

	it("a webhook change with a null url for an unknown webhook: 4xx, not 500 (seed 618312642)", async () => {
		const reply = await node.request("/webhooks/00000000-0000-4000-8000-000000000000", {
			method: "PATCH",
			body: { url: null, enabled: true, rotateSecret: true },
		});
		expect(reply.status).toBeGreaterThanOrEqual(400);
		expect(reply.status).toBeLessThan(500);
	});

	it("an explanation with a null background of a model without a training dataset: 400, not 500 (seed 428641940)", async () => {
		await node.request("/models", {
			method: "POST",
			body: { name: "fz-mlp", task: "classification", framework: "onnx" },
		});
		const uploaded = await fetch(`${node.api}/models/fz-mlp/versions/upload?version=1.0.0`, {
			method: "POST",
			headers: { authorization: `Bearer ${KEY}` },
			body: writeMlpModel(),
		});
		expect(uploaded.status).toBe(201);
		const reply = await node.request("/models/fz-mlp/explain", {
			method: "POST",
			body: {
				instances: [[1, 2, 3, 4]],
				parameters: { a: 1 },
				nsamples: 64,
				background: null,
				output: 0,
			},
		});
		expect(reply.status).toBe(400);
		expect(reply.body).toMatchObject({ type: "INVALID_INPUT" });
	});
});
