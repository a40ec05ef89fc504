/**
 * Triton's model repository extension on an all-in-one node, as a Triton client uses it:
 * index, load (a registered version; or model files with a config, as Triton's load override
 * sends them: ONNX, XGBoost through FIL, TF.js), unload, and every error as `{error}` with
 * Triton's status. A load is a deployment of the fleet; inference works once it answers.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { StartedNode } from "../../nodes/start-node";
import { startTestNode, type TestNode } from "../support/test-node";
import { MLP_EXAMPLE, writeMlpModel } from "../unit/onnx/example-models";

const KEY = "mf_oip-repository-owner";
const MLP_INPUT = { name: "x", datatype: "FP32", shape: [2, 4], data: MLP_EXAMPLE.x };

const base64 = (bytes: Uint8Array | string) => Buffer.from(bytes).toString("base64");

/** The config of the example MLP as Triton writes it (batch dimension implied by max_batch_size). */
const MLP_CONFIG = {
	name: "triton-mlp",
	backend: "onnxruntime",
	max_batch_size: 16,
	input: [{ name: "x", data_type: "TYPE_FP32", dims: [4] }],
	output: [
		{ name: "logits", data_type: "TYPE_FP32", dims: [2] },
		{ name: "probabilities", data_type: "TYPE_FP32", dims: [2] },
	],
	dynamic_batching: { max_queue_delay_microseconds: 100, preferred_batch_size: [4, 8] },
};

/** A TF.js graph model: y = x · W, W = [[1, 2], [3, 4], [5, 6]]. */
function tfjsFiles(): Record<string, string> {
	const dim = (sizes: number[]) => ({ dim: sizes.map(size => ({ size: String(size) })) });
	const modelJson = {
		format: "graph-model",
		modelTopology: {
			node: [
				{
					name: "x",
					op: "Placeholder",
					attr: { dtype: { type: "DT_FLOAT" }, shape: { shape: dim([-1, 3]) } },
				},
				{
					name: "W",
					op: "Const",
					attr: {
						dtype: { type: "DT_FLOAT" },
						value: { tensor: { dtype: "DT_FLOAT", tensorShape: dim([3, 2]) } },
					},
				},
				{ name: "y", op: "MatMul", input: ["x", "W"], attr: { T: { type: "DT_FLOAT" } } },
			],
			library: {},
			versions: { producer: 1 },
		},
		weightsManifest: [
			{ paths: ["weights.bin"], weights: [{ name: "W", shape: [3, 2], dtype: "float32" }] },
		],
	};
	return {
		"file:1/model.json": base64(JSON.stringify(modelJson)),
		"file:1/weights.bin": base64(new Uint8Array(Float32Array.from([1, 2, 3, 4, 5, 6]).buffer)),
	};
}

interface Answer {
	status: number;
	body: unknown;
}

interface IndexEntry {
	name: string;
	version?: string;
	state: string;
	reason: string;
}

describe("Open Inference Protocol model repository extension", () => {
	let testNode: TestNode;
	let node: StartedNode;
	let base: string;
	let viewerKey: string;
	let otherTenantKey: string;

	async function call(
		route: string,
		init: {
			method?: string;
			json?: unknown;
			raw?: string | Uint8Array;
			key?: string | null;
		} = {},
	): Promise<Answer> {
		const key = init.key === undefined ? KEY : init.key;
		const response = await fetch(`${base}${route}`, {
			method:
				init.method ?? (init.json !== undefined || init.raw !== undefined ? "POST" : "GET"),
			headers: {
				...(key ? { authorization: `Bearer ${key}` } : {}),
				...(init.json !== undefined ? { "content-type": "application/json" } : {}),
			},
			body: init.json !== undefined ? JSON.stringify(init.json) : init.raw,
		});
		const text = await response.text();
		return {
			status: response.status,
			body: text === "" ? null : (JSON.parse(text) as unknown),
		};
	}

	const load = (model: string, parameters?: Record<string, unknown>, key?: string | null) =>
		call(`/v2/repository/models/${model}/load`, {
			method: "POST",
			...(parameters ? { json: { parameters } } : {}),
			key,
		});
	const unload = (model: string, key?: string | null) =>
		call(`/v2/repository/models/${model}/unload`, { method: "POST", key });
	const index = async (body?: unknown, key?: string): Promise<IndexEntry[]> => {
		const answer = await call("/v2/repository/index", {
			method: "POST",
			...(body !== undefined ? { json: body } : {}),
			key,
		});
		expect(answer.status).toBe(200);
		return answer.body as IndexEntry[];
	};
	const entry = async (name: string, version: string) =>
		(await index()).find(e => e.name === name && e.version === version);

	/** Triton's error body: `{error}` alone, with the status. */
	function expectError(answer: Answer, status: number, message: RegExp): void {
		expect({ status: answer.status, keys: Object.keys(answer.body as object) }).toEqual({
			status,
			keys: ["error"],
		});
		expect((answer.body as { error: string }).error).toMatch(message);
	}

	async function infer(model: string, input: unknown = MLP_INPUT): Promise<Answer> {
		return call(`/v2/models/${model}/infer`, { json: { inputs: [input] } });
	}

	async function register(name: string, state: string): Promise<void> {
		await call("/api/v1/models", { json: { name, task: "other", framework: "onnx" } });
		const uploaded = await call(
			`/api/v1/models/${name}/versions/upload?version=1.0.0&state=${state}`,
			{ raw: writeMlpModel() },
		);
		expect(uploaded.status).toBe(201);
	}

	beforeAll(async () => {
		testNode = await startTestNode(KEY, {
			LOG_LEVEL: "error",
			MODELFLEET_POOL_THREADS: "1",
			MODELFLEET_GPUS: "none",
			MODELFLEET_STATUS_INTERVAL_MS: "200",
			MODELFLEET_RECONCILE_INTERVAL_MS: "200",
		});
		node = testNode.node;
		base = node.httpUrl!;
		await register("mlp", "Validated");
		await register("draft", "Trained");
		viewerKey = (
			(await call("/api/v1/keys", { json: { name: "viewer", role: "viewer" } })).body as {
				key: string;
			}
		).key;
		otherTenantKey = (
			(await call("/api/v1/tenants", { json: { name: "other-tenant" } })).body as {
				ownerKey: { key: string };
			}
		).ownerKey.key;
	}, 120_000);

	afterAll(() => testNode?.stop());

	it("is advertised in the server metadata", async () => {
		const server = await call("/v2", { key: null });
		expect((server.body as { extensions: string[] }).extensions).toEqual(
			expect.arrayContaining(["binary_tensor_data", "model_repository"]),
		);
	});

	it("indexes the tenant's versions, none loaded yet, with or without a body", async () => {
		const expected = [
			{
				name: "draft",
				version: "1.0.0",
				state: "UNAVAILABLE",
				reason: "version is Trained; only Validated versions can be loaded",
			},
			{ name: "mlp", version: "1.0.0", state: "UNAVAILABLE", reason: "unloaded" },
		];
		expect(await index()).toEqual(expected);
		expect(await index({})).toEqual(expected);
		expect(await index({ ready: true })).toEqual([]);
	});

	it("answers model readiness as the index says: 400 with its state and reason until loaded", async () => {
		for (const [name, route] of [
			["draft", "/v2/models/draft/ready"],
			["mlp", "/v2/models/mlp/ready"],
			["mlp", "/v2/models/mlp/versions/1/ready"],
		]) {
			const { state, reason } = (await entry(name, "1.0.0"))!;
			expect(state).toBe("UNAVAILABLE");
			expect(await call(route)).toEqual({
				status: 400,
				body: { name, version: "1.0.0", ready: false, state, reason },
			});
		}
	});

	it("loads a registered version as a one-replica deployment, ready to infer when it answers", async () => {
		const loaded = await load("mlp");
		expect(loaded).toEqual({
			status: 200,
			body: { name: "mlp", version: "1.0.0", state: "READY", reason: "" },
		});
		const deployment = await call("/api/v1/deployments/mlp");
		expect(deployment.body).toMatchObject({
			replicas: 1,
			readyReplicas: 1,
			traffic: [{ version: "1.0.0", weight: 100 }],
		});
		expect(await index({ ready: true })).toEqual([
			{ name: "mlp", version: "1.0.0", state: "READY", reason: "" },
		]);
		expect(await call("/v2/models/mlp/ready")).toEqual({
			status: 200,
			body: { name: "mlp", version: "1.0.0", ready: true },
		});
		const answer = await infer("mlp");
		expect(answer.status).toBe(200);
		expect((answer.body as { outputs: { data: number[] }[] }).outputs[0].data).toEqual(
			MLP_EXAMPLE.logits,
		);
	});

	it("unloads a model: its deployment goes, its version is Validated again", async () => {
		expect(await unload("mlp")).toEqual({
			status: 200,
			body: { name: "mlp", state: "UNAVAILABLE", reason: "unloaded" },
		});
		expect((await call("/api/v1/deployments/mlp")).status).toBe(404);
		expect(
			((await call("/api/v1/models/mlp/versions/1.0.0")).body as { state: string }).state,
		).toBe("Validated");
		expect(await entry("mlp", "1.0.0")).toMatchObject({
			state: "UNAVAILABLE",
			reason: "unloaded",
		});
		expect((await call("/v2/models/mlp/ready")).status).toBe(400);
		// Unloading what is not loaded is not an error, as in Triton.
		expect((await unload("mlp")).status).toBe(200);
	});

	it("publishes ONNX files with a config as a new model's version, with its batching, and serves it", async () => {
		const loaded = await load("triton-mlp", {
			config: JSON.stringify(MLP_CONFIG),
			"file:1/model.onnx": base64(writeMlpModel()),
		});
		expect(loaded).toEqual({
			status: 200,
			body: { name: "triton-mlp", version: "1.0.0", state: "READY", reason: "" },
		});
		const version = (await call("/api/v1/models/triton-mlp/versions/1.0.0")).body;
		expect(version).toMatchObject({
			format: "onnx",
			state: "Deployed",
			schema: { inputs: [{ name: "x", shape: [-1, 4] }] },
			serving: {
				batching: {
					enabled: true,
					maxBatchSize: 16,
					maxQueueDelayMicros: 100,
					preferredBatchSizes: [4, 8],
				},
			},
		});
		expect((await call("/api/v1/deployments/triton-mlp")).body).toMatchObject({
			batching: { enabled: true, maxBatchSize: 16, maxQueueDelayMicros: 100 },
		});
		// The model configuration extension gives the config back, as Triton writes it.
		const config = await call("/v2/models/triton-mlp/config");
		expect(config.status).toBe(200);
		expect(config.body).toMatchObject({
			name: "triton-mlp",
			backend: "onnxruntime",
			platform: "onnxruntime_onnx",
			max_batch_size: 16,
			input: [{ name: "x", data_type: "TYPE_FP32", dims: [4] }],
			output: [
				{ name: "logits", data_type: "TYPE_FP32", dims: [2] },
				{ name: "probabilities", data_type: "TYPE_FP32", dims: [2] },
			],
			dynamic_batching: { max_queue_delay_microseconds: 100, preferred_batch_size: [4, 8] },
		});
		const answer = await infer("triton-mlp");
		expect((answer.body as { outputs: { data: number[] }[] }).outputs[0].data).toEqual(
			MLP_EXAMPLE.logits,
		);
	});

	it("switches a loaded model to a newer version sent as files", async () => {
		const loaded = await load("triton-mlp", {
			config: JSON.stringify({ backend: "onnxruntime" }),
			"file:2/model.onnx": base64(writeMlpModel()),
		});
		expect(loaded.body).toMatchObject({ version: "2.0.0", state: "READY" });
		expect((await call("/api/v1/deployments/triton-mlp")).body).toMatchObject({
			traffic: [{ version: "2.0.0", weight: 100 }],
			previousTraffic: [{ version: "1.0.0", weight: 100 }],
		});
		expect(await entry("triton-mlp", "1.0.0")).toMatchObject({ state: "UNAVAILABLE" });
		expect(await entry("triton-mlp", "2.0.0")).toMatchObject({ state: "READY" });
		const answer = await infer("triton-mlp");
		expect((answer.body as { model_version: string }).model_version).toBe("2.0.0");
		// The same files again are the same version; a load by Triton's version number goes back.
		expect((await load("triton-mlp", { version: "1" })).body).toMatchObject({
			version: "1.0.0",
			state: "READY",
		});
	});

	it("publishes an XGBoost JSON model through Triton's FIL backend config", async () => {
		const model = fs.readFileSync(
			path.join(__dirname, "..", "fixtures", "xgboost", "iris-binary-logistic.json"),
		);
		const loaded = await load("fil-iris", {
			config: JSON.stringify({
				backend: "fil",
				max_batch_size: 64,
				parameters: { model_type: { string_value: "xgboost_json" } },
			}),
			"file:1/xgboost.json": base64(model),
		});
		expect(loaded.status).toBe(200);
		const answer = await infer("fil-iris", {
			name: "input",
			datatype: "FP32",
			shape: [2, 4],
			data: [5.1, 3.5, 1.4, 0.2, 6.3, 3.3, 6.0, 2.5],
		});
		const [setosa, virginica] = (answer.body as { outputs: { data: number[] }[] }).outputs[0]
			.data;
		expect(setosa).toBeLessThan(0.5);
		expect(virginica).toBeGreaterThan(0.5);
	});

	it("publishes a TF.js model's files (model.json and weights) as one version", async () => {
		const loaded = await load("tfjs-matmul", {
			config: JSON.stringify({ backend: "tfjs" }),
			...tfjsFiles(),
		});
		expect(loaded.status).toBe(200);
		const answer = await infer("tfjs-matmul", {
			name: "x",
			datatype: "FP32",
			shape: [1, 3],
			data: [1, 1, 1],
		});
		expect((answer.body as { outputs: { data: number[] }[] }).outputs[0].data).toEqual([9, 12]);
	});

	describe("errors, as {error} with Triton's status", () => {
		it("401 without a key, 403 for a role that may not deploy, 404 for another tenant's model", async () => {
			expectError(await load("mlp", undefined, null), 401, /API key/);
			expectError(
				await call("/v2/repository/index", { method: "POST", key: "mf_nope" }),
				401,
				/API key/,
			);
			expectError(await load("mlp", undefined, viewerKey), 403, /viewer.*owner, developer/);
			expectError(await unload("mlp", viewerKey), 403, /viewer/);
			expect(await index(undefined, viewerKey)).toContainEqual(
				expect.objectContaining({ name: "mlp" }),
			);
			expectError(await load("mlp", undefined, otherTenantKey), 404, /mlp/);
			expectError(await unload("triton-mlp", otherTenantKey), 404, /triton-mlp/);
			expect(await index(undefined, otherTenantKey)).toEqual([]);
		});

		it("404 for an unknown model or version", async () => {
			expectError(await load("nothing"), 404, /nothing/);
			expectError(await unload("nothing"), 404, /nothing/);
			expectError(await load("mlp", { version: "7" }), 404, /7\.0\.0/);
		});

		it("400 for a body, config or file that cannot be used, and nothing is left behind", async () => {
			expectError(
				await call("/v2/repository/models/mlp/load", { method: "POST", raw: "{not json" }),
				400,
				/not valid JSON/,
			);
			expectError(
				await call("/v2/repository/index", { method: "POST", json: { ready: "yes" } }),
				400,
				/ready/,
			);
			expectError(await load("mlp", { config: "{bad" }), 400, /model configuration/);
			expectError(
				await load("new-model", {
					config: JSON.stringify({ backend: "pytorch" }),
					"file:1/model.pt": base64("x"),
				}),
				400,
				/'pytorch' is not served/,
			);
			expectError(
				await load("new-model", { "file:1/model.onnx": base64(writeMlpModel()) }),
				400,
				/config/,
			);
			expectError(
				await load("new-model", {
					config: JSON.stringify({ backend: "onnxruntime" }),
					"file:1/model.onnx": base64("not an onnx file"),
				}),
				400,
				/ONNX/,
			);
			expectError(
				await load("new-model", {
					config: JSON.stringify({
						...MLP_CONFIG,
						name: "new-model",
						input: [{ name: "x", data_type: "TYPE_FP32", dims: [5] }],
					}),
					"file:1/model.onnx": base64(writeMlpModel()),
				}),
				400,
				/inputs\[0\]\.shape\[1\]/,
			);
			expect((await call("/api/v1/models/new-model")).status).toBe(404);
		});

		it("409 for a version that cannot be served or other files for an existing version", async () => {
			expectError(await load("draft"), 409, /no Validated or Deployed version/);
			expectError(await load("draft", { version: "1.0.0" }), 409, /is Trained/);
			expectError(
				await load("triton-mlp", {
					config: JSON.stringify({ backend: "onnxruntime" }),
					"file:1/model.onnx": base64(writeMlpModel().subarray(0, 40)),
				}),
				409,
				/already exists/,
			);
		});
	});
});
