/** The Open Inference Protocol (KServe v2 / Triton HTTP) on an all-in-one node. */
import type { StartedNode } from "../../nodes/start-node";
import { startTestNode, type TestNode } from "../support/test-node";
import { MLP_EXAMPLE, writeMlpModel } from "../unit/onnx/example-models";

const KEY = "mf_oip-test-owner";

describe("Open Inference Protocol /v2", () => {
	let testNode: TestNode;
	let node: StartedNode;
	let base: string;

	async function http(
		route: string,
		init: { method?: string; body?: unknown; key?: string | null } = {},
	): Promise<{ status: number; body: Record<string, unknown> }> {
		const key = init.key === undefined ? KEY : init.key;
		const response = await fetch(`${base}${route}`, {
			method: init.method ?? "GET",
			headers: {
				...(key ? { authorization: `Bearer ${key}` } : {}),
				...(init.body !== undefined ? { "content-type": "application/json" } : {}),
			},
			body: init.body === undefined ? undefined : JSON.stringify(init.body),
		});
		return {
			status: response.status,
			body: (await response.json()) as Record<string, unknown>,
		};
	}

	beforeAll(async () => {
		testNode = await startTestNode(KEY, {
			LOG_LEVEL: "error",
			MODELFLEET_POOL_THREADS: "1",
		});
		node = testNode.node;
		base = node.httpUrl!;
		await http("/api/v1/models", {
			method: "POST",
			body: { name: "mlp", task: "classification", framework: "onnx" },
		});
		const uploaded = await fetch(`${base}/api/v1/models/mlp/versions/upload?version=1.0.0`, {
			method: "POST",
			headers: { authorization: `Bearer ${KEY}` },
			body: writeMlpModel(),
		});
		expect(uploaded.status).toBe(201);
	}, 60_000);

	afterAll(() => testNode?.stop());

	it("answers health and server metadata without a key", async () => {
		expect(await http("/v2/health/live", { key: null })).toEqual({
			status: 200,
			body: { live: true },
		});
		expect(await http("/v2/health/ready", { key: null })).toEqual({
			status: 200,
			body: { ready: true },
		});
		const server = await http("/v2", { key: null });
		expect(server.status).toBe(200);
		expect(server.body).toEqual({
			name: "modelfleet",
			version: expect.any(String),
			extensions: [
				"binary_tensor_data",
				"classification",
				"model_configuration",
				"model_repository",
				"statistics",
			],
		});
	});

	it("describes a model and its versions, with Triton's integer versions accepted", async () => {
		expect(await http("/v2/models/mlp")).toEqual({
			status: 200,
			body: {
				name: "mlp",
				versions: ["1.0.0"],
				platform: "onnxruntime_onnx",
				inputs: [{ name: "x", datatype: "FP32", shape: [-1, 4] }],
				outputs: [
					{ name: "logits", datatype: "FP32", shape: [-1, 2] },
					{ name: "probabilities", datatype: "FP32", shape: [-1, 2] },
				],
			},
		});
		expect((await http("/v2/models/mlp/versions/1")).body).toMatchObject({
			name: "mlp",
			versions: ["1.0.0"],
		});
		// Not deployed (a Draft): served on demand, but not ready, as the repository index says.
		expect(await http("/v2/models/mlp/versions/1.0.0/ready")).toMatchObject({
			status: 400,
			body: {
				ready: false,
				state: "UNAVAILABLE",
				reason: expect.stringContaining("Validated"),
			},
		});
	});

	it("infers, echoing the id and giving only the outputs asked for", async () => {
		const answer = await http("/v2/models/mlp/versions/1/infer", {
			method: "POST",
			body: {
				id: "42",
				inputs: [{ name: "x", shape: [2, 4], datatype: "FP32", data: MLP_EXAMPLE.x }],
				outputs: [{ name: "logits" }],
			},
		});
		expect(answer).toEqual({
			status: 200,
			body: {
				model_name: "mlp",
				model_version: "1.0.0",
				id: "42",
				parameters: { execution_provider: "cpu" },
				outputs: [
					{ name: "logits", shape: [2, 2], datatype: "FP32", data: MLP_EXAMPLE.logits },
				],
			},
		});
	});

	it("answers errors as {error} with the protocol's statuses", async () => {
		const bad = await http("/v2/models/mlp/infer", {
			method: "POST",
			body: { inputs: [{ name: "x", shape: [1, 3], datatype: "FP32", data: [1, 2, 3] }] },
		});
		expect(bad.status).toBe(400);
		expect(Object.keys(bad.body)).toEqual(["error"]);
		expect(bad.body.error).toEqual(expect.stringContaining("'x'"));
		const unknown = await http("/v2/models/nothing");
		expect(unknown).toEqual({
			status: 404,
			body: { error: expect.stringContaining("nothing") },
		});
		const noKey = await http("/v2/models/mlp", { key: null });
		expect(noKey).toEqual({ status: 401, body: { error: expect.any(String) } });
	});

	/** A binary request: the JSON header, then the raw bytes; the header's length in its own header. */
	async function binaryInfer(
		route: string,
		header: unknown,
		bytes: Uint8Array,
		headerLength?: string,
	): Promise<Response> {
		const json = Buffer.from(JSON.stringify(header));
		return fetch(`${base}${route}`, {
			method: "POST",
			headers: {
				authorization: `Bearer ${KEY}`,
				"content-type": "application/octet-stream",
				"inference-header-content-length": headerLength ?? String(json.length),
			},
			body: Buffer.concat([json, bytes]),
		});
	}

	it("takes binary tensors and answers the outputs asked for as binary after a JSON header", async () => {
		const x = Float32Array.from(MLP_EXAMPLE.x);
		const response = await binaryInfer(
			"/v2/models/mlp/infer",
			{
				id: "b1",
				inputs: [
					{
						name: "x",
						shape: [2, 4],
						datatype: "FP32",
						parameters: { binary_data_size: x.byteLength },
					},
				],
				outputs: [
					{ name: "logits", parameters: { binary_data: true } },
					{ name: "probabilities" },
				],
			},
			new Uint8Array(x.buffer),
		);
		expect(response.status).toBe(200);
		expect(response.headers.get("content-type")).toBe("application/octet-stream");
		const headerLength = Number(response.headers.get("inference-header-content-length"));
		const body = Buffer.from(await response.arrayBuffer());
		const header = JSON.parse(body.subarray(0, headerLength).toString()) as {
			id: string;
			outputs: { name: string; parameters?: { binary_data_size: number }; data?: number[] }[];
		};
		expect(header.id).toBe("b1");
		expect(header.outputs[0]).toEqual({
			name: "logits",
			shape: [2, 2],
			datatype: "FP32",
			parameters: { binary_data_size: 16 },
		});
		expect(header.outputs[1].data).toHaveLength(4);
		const logits = new Float32Array(Uint8Array.from(body.subarray(headerLength)).buffer);
		expect([...logits]).toEqual(MLP_EXAMPLE.logits);
	});

	it("answers binary input with plain JSON when no output is asked for as binary", async () => {
		const x = Float32Array.from(MLP_EXAMPLE.x);
		const response = await binaryInfer(
			"/v2/models/mlp/versions/1/infer",
			{
				inputs: [
					{
						name: "x",
						shape: [2, 4],
						datatype: "FP32",
						parameters: { binary_data_size: 32 },
					},
				],
				outputs: [{ name: "logits" }],
			},
			new Uint8Array(x.buffer),
		);
		expect(response.status).toBe(200);
		expect(response.headers.get("inference-header-content-length")).toBeNull();
		expect(
			((await response.json()) as { outputs: { data: number[] }[] }).outputs[0].data,
		).toEqual(MLP_EXAMPLE.logits);
	});

	it("answers a truncated binary body and a header length past the body with 400 {error}", async () => {
		const header = {
			inputs: [
				{
					name: "x",
					shape: [2, 4],
					datatype: "FP32",
					parameters: { binary_data_size: 32 },
				},
			],
		};
		const truncated = await binaryInfer("/v2/models/mlp/infer", header, new Uint8Array(20));
		expect(truncated.status).toBe(400);
		expect(await truncated.json()).toEqual({
			error: expect.stringContaining(
				"inputs[0] 'x': parameters.binary_data_size 32 runs past",
			),
		});
		const long = await binaryInfer("/v2/models/mlp/infer", header, new Uint8Array(32), "999");
		expect(long.status).toBe(400);
		expect(((await long.json()) as { error: string }).error).toContain(
			"Inference-Header-Content-Length is 999",
		);
	});
});
