/**
 * The KServe v2 / Triton gRPC protocol on an all-in-one node, driven with @grpc/grpc-js and the
 * checked-in proto: answers equal to REST's, raw and typed contents, a ModelStreamInfer stream of
 * 1,000 requests, ModelConfig decoded with Triton's own model_config.proto, and what an attacker
 * sends answering the mapped status codes.
 */
import * as path from "node:path";
import {
	credentials,
	loadPackageDefinition,
	Metadata,
	status,
	type Client,
	type GrpcObject,
	type ServiceError,
} from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { InferenceClient } from "../../lib/grpc/grpc-client";
import { PROTO_LOADER_OPTIONS, protoPath } from "../../lib/grpc/proto";
import { postHead, RawRequest } from "../support/raw-http";
import { startTestNode, type TestNode } from "../support/test-node";
import { MLP_EXAMPLE, writeMlpModel } from "../unit/onnx/example-models";

const KEY = "mf_grpc-test-owner";

interface InferAnswer {
	model_name: string;
	model_version: string;
	id: string;
	outputs: { name: string; datatype: string; shape: number[] }[];
	raw_output_contents: Buffer[];
}

/** FP32 raw bytes as numbers. */
function floats(raw: Buffer): number[] {
	const copy = Buffer.from(raw);
	return Array.from(new Float32Array(copy.buffer, copy.byteOffset, copy.length / 4));
}

function rawOf(values: number[]): Buffer {
	return Buffer.from(Float32Array.from(values).buffer);
}

/** Triton's protos (test/fixtures/triton): its ModelConfig RPC and model_config.proto, unchanged. */
const TRITON_PROTO = path.resolve(__dirname, "../fixtures/triton/model_config_service.proto");

/**
 * ModelConfig through a client made of `file` alone, every field of the answer decoded (proto3
 * defaults included, no oneof names), as a generated client such as tritonclient's reads it.
 */
function modelConfigVia(
	file: string,
	address: string,
	key: string,
	request: { name: string; version?: string },
): Promise<{ config: Record<string, unknown> }> {
	const loaded = loadPackageDefinition(
		loadSync(file, {
			...PROTO_LOADER_OPTIONS,
			defaults: true,
			oneofs: false,
			includeDirs: [path.dirname(file)],
		}),
	);
	const Ctor = (loaded.inference as GrpcObject).GRPCInferenceService as unknown as new (
		address: string,
		creds: ReturnType<typeof credentials.createInsecure>,
	) => Client & {
		ModelConfig(
			request: object,
			metadata: Metadata,
			callback: (err: ServiceError | null, answer: unknown) => void,
		): void;
	};
	const client = new Ctor(address, credentials.createInsecure());
	const metadata = new Metadata();
	metadata.set("authorization", `Bearer ${key}`);
	return new Promise((resolve, reject) =>
		client.ModelConfig(request, metadata, (err, answer) => {
			client.close();
			if (err) reject(err);
			else resolve(answer as { config: Record<string, unknown> });
		}),
	);
}

async function refusal(promise: Promise<unknown>): Promise<ServiceError> {
	try {
		await promise;
	} catch (err) {
		return err as ServiceError;
	}
	throw new Error("expected the call to be refused");
}

describe("KServe v2 gRPC", () => {
	let testNode: TestNode;
	let client: InferenceClient;
	let address: string;
	let otherKey: string;
	let viewerKey: string;

	/** REST's answer to the same inference (JSON), for comparison. */
	async function restInfer(x: number[], rows: number): Promise<Record<string, number[]>> {
		const response = await fetch(`${testNode.node.httpUrl}/v2/models/mlp/infer`, {
			method: "POST",
			headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
			body: JSON.stringify({
				inputs: [{ name: "x", shape: [rows, 4], datatype: "FP32", data: x }],
			}),
		});
		expect(response.status).toBe(200);
		const body = (await response.json()) as { outputs: { name: string; data: number[] }[] };
		return Object.fromEntries(body.outputs.map(o => [o.name, o.data]));
	}

	const rawRequest = (x: number[], rows: number, id = "") => ({
		model_name: "mlp",
		id,
		inputs: [{ name: "x", datatype: "FP32", shape: [rows, 4] }],
		raw_input_contents: [rawOf(x)],
	});

	beforeAll(async () => {
		testNode = await startTestNode(KEY, {
			LOG_LEVEL: "error",
			MODELFLEET_POOL_THREADS: "1",
			MODELFLEET_GRPC_PORT: "0",
			MODELFLEET_MAX_BODY_BYTES: "1MiB",
			// One caller may hold 1 MiB of request bytes, HTTP bodies and gRPC messages together.
			MODELFLEET_KEY_IN_FLIGHT_BYTES: "1MiB",
			MODELFLEET_GPUS: "none",
			MODELFLEET_STATUS_INTERVAL_MS: "200",
			MODELFLEET_RECONCILE_INTERVAL_MS: "200",
		});
		expect(testNode.node.grpcPort).toEqual(expect.any(Number));
		address = `127.0.0.1:${testNode.node.grpcPort}`;
		client = new InferenceClient(address, { key: KEY });
		await testNode.request("/models", {
			method: "POST",
			body: { name: "mlp", task: "classification", framework: "onnx" },
		});
		const uploaded = await fetch(`${testNode.api}/models/mlp/versions/upload?version=1.0.0`, {
			method: "POST",
			headers: { authorization: `Bearer ${KEY}` },
			body: writeMlpModel(),
		});
		expect(uploaded.status).toBe(201);
		const tenant = await testNode.request("/tenants", {
			method: "POST",
			body: { name: "grpc-other" },
		});
		otherKey = (tenant.body as { ownerKey: { key: string } }).ownerKey.key;
		const viewer = await testNode.request("/keys", {
			method: "POST",
			body: { name: "viewer", role: "viewer" },
		});
		viewerKey = (viewer.body as { key: string }).key;
	}, 60_000);

	afterAll(async () => {
		client?.close();
		await testNode?.stop();
	});

	it("answers liveness, readiness and server metadata without a key", async () => {
		const anonymous = new InferenceClient(address, { key: null });
		try {
			expect(await anonymous.call("ServerLive", {})).toEqual({ live: true });
			expect(await anonymous.call("ServerReady", {})).toEqual({ ready: true });
			expect(await anonymous.call("ServerMetadata", {})).toEqual({
				name: "modelfleet",
				version: expect.any(String),
				extensions: expect.arrayContaining(["binary_tensor_data", "model_repository"]),
			});
		} finally {
			anonymous.close();
		}
	});

	it("describes a model as REST does", async () => {
		const rest = (await (
			await fetch(`${testNode.node.httpUrl}/v2/models/mlp`, {
				headers: { authorization: `Bearer ${KEY}` },
			})
		).json()) as Record<string, unknown>;
		expect(await client.call("ModelMetadata", { name: "mlp" })).toEqual(rest);
		// The key in `x-api-key` metadata works as the header does.
		const byHeader = new Metadata();
		byHeader.set("x-api-key", KEY);
		const anonymous = new InferenceClient(address, { key: null });
		try {
			expect(
				await anonymous.call("ModelMetadata", { name: "mlp" }, { metadata: byHeader }),
			).toEqual(rest);
		} finally {
			anonymous.close();
		}
		// Not deployed (a Draft): not ready, as the repository index says.
		const ready = await client.call<{ ready?: boolean }>("ModelReady", {
			name: "mlp",
			version: "1",
		});
		expect(ready.ready ?? false).toBe(false);
	});

	/** `GET /v2/models/mlp[/versions/{version}]/config`'s body. */
	async function restConfig(version?: string): Promise<Record<string, unknown>> {
		const at = version === undefined ? "" : `/versions/${version}`;
		const response = await fetch(`${testNode.node.httpUrl}/v2/models/mlp${at}/config`, {
			headers: { authorization: `Bearer ${KEY}` },
		});
		expect(response.status).toBe(200);
		return (await response.json()) as Record<string, unknown>;
	}

	it("answers ModelConfig with the configuration of the HTTP config route", async () => {
		const rest = await restConfig();
		expect(rest).toMatchObject({ name: "mlp", max_batch_size: expect.any(Number) });
		// Every field our proto declares, defaults included: exactly the HTTP body.
		expect(await modelConfigVia(protoPath(), address, KEY, { name: "mlp" })).toEqual({
			config: rest,
		});
		// A Triton integer version, as the HTTP route takes it.
		expect(
			await modelConfigVia(protoPath(), address, KEY, { name: "mlp", version: "1" }),
		).toEqual({ config: await restConfig("1") });
		// The repository's client (no defaults decoded) and a viewer's key (models.read).
		const viewer = new InferenceClient(address, { key: viewerKey });
		try {
			const answer = await viewer.call<{
				config: { name: string; input: { name: string; data_type: string }[] };
			}>("ModelConfig", { name: "mlp" });
			expect(answer.config.name).toBe("mlp");
			expect(answer.config.input).toEqual([
				expect.objectContaining({ name: "x", data_type: "TYPE_FP32", dims: [4] }),
			]);
		} finally {
			viewer.close();
		}
	});

	it("answers ModelConfig in bytes that Triton's own model_config.proto decodes to the HTTP body", async () => {
		const rest = await restConfig();
		const triton = await modelConfigVia(TRITON_PROTO, address, KEY, { name: "mlp" });
		// Triton's message has more fields (at their defaults); each of ours decodes to its value.
		expect(triton.config).toMatchObject(rest);
		expect(triton.config).toMatchObject({
			input: [{ name: "x", data_type: "TYPE_FP32", format: "FORMAT_NONE", dims: [4] }],
			dynamic_batching: { default_queue_policy: { max_queue_size: expect.any(Number) } },
			instance_group: [{ kind: "KIND_AUTO" }],
			version_policy: { latest: { num_versions: 1 } },
		});
	});

	it("refuses ModelConfig as it refuses the other model RPCs", async () => {
		const codeOf = async (promise: Promise<unknown>) => (await refusal(promise)).code;
		const anonymous = new InferenceClient(address, { key: null });
		const other = new InferenceClient(address, { key: otherKey });
		try {
			expect(await codeOf(anonymous.call("ModelConfig", { name: "mlp" }))).toBe(
				status.UNAUTHENTICATED,
			);
			expect(await codeOf(client.call("ModelConfig", { name: "nothing" }))).toBe(
				status.NOT_FOUND,
			);
			expect(await codeOf(client.call("ModelConfig", { name: "mlp", version: "9" }))).toBe(
				status.NOT_FOUND,
			);
			// Another tenant's model does not exist for this caller.
			expect(await codeOf(other.call("ModelConfig", { name: "mlp" }))).toBe(status.NOT_FOUND);
		} finally {
			anonymous.close();
			other.close();
		}
	});

	it("infers with raw contents and with typed contents, equal to REST", async () => {
		const rest = await restInfer(MLP_EXAMPLE.x, 2);
		const raw = await client.call<InferAnswer>(
			"ModelInfer",
			rawRequest(MLP_EXAMPLE.x, 2, "r1"),
		);
		expect(raw).toMatchObject({ model_name: "mlp", model_version: "1.0.0", id: "r1" });
		expect(raw.outputs.map(o => [o.name, o.datatype, o.shape])).toEqual([
			["logits", "FP32", [2, 2]],
			["probabilities", "FP32", [2, 2]],
		]);
		expect(floats(raw.raw_output_contents[0])).toEqual(rest.logits);
		expect(floats(raw.raw_output_contents[1])).toEqual(rest.probabilities);

		const typed = await client.call<InferAnswer>("ModelInfer", {
			model_name: "mlp",
			model_version: "1",
			inputs: [
				{
					name: "x",
					datatype: "FP32",
					shape: [2, 4],
					contents: { fp32_contents: MLP_EXAMPLE.x },
				},
			],
			outputs: [{ name: "probabilities" }],
		});
		expect(typed.outputs.map(o => o.name)).toEqual(["probabilities"]);
		expect(floats(typed.raw_output_contents[0])).toEqual(rest.probabilities);
	});

	it("streams 1,000 requests on one ModelStreamInfer and answers each in order, equal to REST", async () => {
		const rows = Array.from({ length: 10 }, (_, i) => MLP_EXAMPLE.x.map(v => v * (i + 1)));
		const rest = await Promise.all(rows.map(x => restInfer(x, 2)));
		const stream = client.stream();
		const answers: Record<string, unknown>[] = [];
		const done = new Promise<void>((resolve, reject) => {
			stream.on("data", (answer: Record<string, unknown>) => answers.push(answer));
			stream.on("end", resolve);
			stream.on("error", reject);
		});
		for (let i = 0; i < 1000; i++) {
			// One bad request in the stream answers its own error; the stream goes on.
			if (i === 500) {
				stream.write({
					...rawRequest(MLP_EXAMPLE.x, 2, "bad"),
					raw_input_contents: [Buffer.alloc(3)],
				});
				continue;
			}
			stream.write(rawRequest(rows[i % 10], 2, String(i)));
		}
		stream.end();
		await done;
		expect(answers).toHaveLength(1000);
		answers.forEach((answer, i) => {
			const response = answer.infer_response as InferAnswer | null;
			if (i === 500) {
				expect(answer.error_message).toMatch(/binary_data_size|multiple of 4/);
				return;
			}
			expect(answer.error_message ?? "").toBe("");
			expect(response?.id).toBe(String(i));
			expect(floats((response as InferAnswer).raw_output_contents[1])).toEqual(
				rest[i % 10].probabilities,
			);
		});
	}, 120_000);

	it("refuses what an attacker sends with the mapped status codes", async () => {
		const codeOf = async (promise: Promise<unknown>) => (await refusal(promise)).code;
		const anonymous = new InferenceClient(address, { key: null });
		const wrongKey = new InferenceClient(address, { key: "mf_not-a-key" });
		const viewer = new InferenceClient(address, { key: viewerKey });
		const other = new InferenceClient(address, { key: otherKey });
		try {
			const request = rawRequest(MLP_EXAMPLE.x, 2);
			expect(await codeOf(anonymous.call("ModelInfer", request))).toBe(
				status.UNAUTHENTICATED,
			);
			expect(await codeOf(wrongKey.call("ModelInfer", request))).toBe(status.UNAUTHENTICATED);
			expect(await codeOf(viewer.call("ModelInfer", request))).toBe(status.PERMISSION_DENIED);
			expect(await codeOf(viewer.call("RepositoryModelUnload", { model_name: "mlp" }))).toBe(
				status.PERMISSION_DENIED,
			);
			// Another tenant's model does not exist for this caller.
			expect(await codeOf(other.call("ModelInfer", request))).toBe(status.NOT_FOUND);
			expect(await codeOf(other.call("ModelMetadata", { name: "mlp" }))).toBe(
				status.NOT_FOUND,
			);
			expect(
				await codeOf(client.call("ModelInfer", { ...request, model_name: "nothing" })),
			).toBe(status.NOT_FOUND);
			// Truncated raw contents, a datatype whose size does not fit, a huge declared shape.
			const truncated = await refusal(
				client.call("ModelInfer", {
					...request,
					raw_input_contents: [rawOf(MLP_EXAMPLE.x).subarray(0, 30)],
				}),
			);
			expect(truncated.code).toBe(status.INVALID_ARGUMENT);
			expect(truncated.details).toContain("'x'");
			expect(
				await codeOf(
					client.call("ModelInfer", {
						...request,
						inputs: [{ name: "x", datatype: "INT64", shape: [2, 4] }],
						raw_input_contents: [Buffer.alloc(20)],
					}),
				),
			).toBe(status.INVALID_ARGUMENT);
			expect(
				await codeOf(
					client.call("ModelInfer", {
						...request,
						inputs: [{ name: "x", datatype: "FP32", shape: [1e12, 4] }],
					}),
				),
			).toBe(status.RESOURCE_EXHAUSTED); // REST: 413 REQUEST_TOO_LARGE, before any allocation
			// Raw contents that do not match the inputs one to one; contents and raw at once.
			expect(
				await codeOf(
					client.call("ModelInfer", { ...request, raw_input_contents: [], inputs: [] }),
				),
			).toBe(status.INVALID_ARGUMENT);
			expect(
				await codeOf(
					client.call("ModelInfer", {
						...request,
						raw_input_contents: [rawOf(MLP_EXAMPLE.x), rawOf(MLP_EXAMPLE.x)],
					}),
				),
			).toBe(status.INVALID_ARGUMENT);
			// A message over the body limit (1 MiB here).
			expect(
				await codeOf(
					client.call("ModelInfer", {
						...request,
						raw_input_contents: [Buffer.alloc(2 * 1024 ** 2)],
					}),
				),
			).toBe(status.RESOURCE_EXHAUSTED);
			// A stream without a key is refused as a whole.
			const stream = anonymous.stream();
			const ended = new Promise<ServiceError>(resolve => stream.on("error", resolve));
			stream.on("data", () => undefined);
			stream.write(request);
			expect((await ended).code).toBe(status.UNAUTHENTICATED);
		} finally {
			for (const c of [anonymous, wrongKey, viewer, other]) c.close();
		}
	});

	it("serves the statistics and the model repository's index", async () => {
		const stats = await client.call<{
			model_stats: {
				name: string;
				version: string;
				inference_stats: { success: { count: number } };
			}[];
		}>("ModelStatistics", { name: "mlp" });
		expect(stats.model_stats[0]).toMatchObject({ name: "mlp", version: "1.0.0" });
		expect(stats.model_stats[0].inference_stats.success.count).toBeGreaterThan(1000);
		const index = await client.call<{
			models: { name: string; version: string; state: string }[];
		}>("RepositoryIndex", {});
		expect(index.models).toEqual([
			expect.objectContaining({ name: "mlp", version: "1.0.0", state: "UNAVAILABLE" }),
		]);
		expect(await refusal(client.call("ModelStatistics", { name: "nothing" }))).toMatchObject({
			code: status.NOT_FOUND,
		});
	});

	it("loads and unloads a model through the repository RPCs, its readiness following", async () => {
		await testNode.request("/models", {
			method: "POST",
			body: { name: "served", task: "classification", framework: "onnx" },
		});
		const uploaded = await fetch(
			`${testNode.api}/models/served/versions/upload?version=1.0.0&state=Validated`,
			{ method: "POST", headers: { authorization: `Bearer ${KEY}` }, body: writeMlpModel() },
		);
		expect(uploaded.status).toBe(201);
		const viewer = new InferenceClient(address, { key: viewerKey });
		try {
			expect(
				(await refusal(viewer.call("RepositoryModelLoad", { model_name: "served" }))).code,
			).toBe(status.PERMISSION_DENIED);
		} finally {
			viewer.close();
		}
		expect(
			(await refusal(client.call("RepositoryModelLoad", { model_name: "nothing" }))).code,
		).toBe(status.NOT_FOUND);
		// Answers once a replica is ready.
		expect(await client.call("RepositoryModelLoad", { model_name: "served" })).toEqual({});
		expect(await client.call("ModelReady", { name: "served" })).toEqual({ ready: true });
		const ready = await client.call<{ models: { name: string; state: string }[] }>(
			"RepositoryIndex",
			{ ready: true },
		);
		expect(ready.models.map(m => [m.name, m.state])).toEqual([["served", "READY"]]);
		expect(await client.call("RepositoryModelUnload", { model_name: "served" })).toEqual({});
		const after = await client.call<{ ready?: boolean }>("ModelReady", { name: "served" });
		expect(after.ready ?? false).toBe(false);
	}, 60_000);

	it("holds each inference message's bytes in the caller's in-flight budget, shared with HTTP bodies", async () => {
		// 12,800 rows of 4 floats: 204,800 bytes of tensor. With 900,000 bytes of a stalled HTTP
		// body of the same key held, the two would pass the key's 1 MiB.
		const rows = 12_800;
		const x = Array.from({ length: rows * 4 }, (_, i) => (i % 7) / 7);
		const httpUrl = testNode.node.httpUrl;
		if (httpUrl === null) throw new Error("the test node serves HTTP");
		const stalled = new RawRequest(
			Number(new URL(httpUrl).port),
			postHead("/v2/models/mlp/infer", {
				authorization: `Bearer ${KEY}`,
				"content-type": "application/json",
				"content-length": 900_000,
			}),
		);
		try {
			stalled.socket.write("{");
			// The body guard takes the declared length as soon as it sees the head.
			await new Promise(resolve => setTimeout(resolve, 300));
			const refused = await refusal(client.call("ModelInfer", rawRequest(x, rows)));
			expect(refused.code).toBe(status.RESOURCE_EXHAUSTED);
			expect(refused.details).toMatch(/MODELFLEET_KEY_IN_FLIGHT_BYTES/);
			// Another caller's bytes are its own: the viewer is refused for its role, not for bytes.
			const other = new InferenceClient(address, { key: viewerKey });
			try {
				const viewerRefusal = await refusal(other.call("ModelInfer", rawRequest(x, rows)));
				expect(viewerRefusal.code).toBe(status.PERMISSION_DENIED);
			} finally {
				other.close();
			}
		} finally {
			stalled.destroy();
		}
		await new Promise(resolve => setTimeout(resolve, 300));
		// The HTTP body's bytes given back, and the refused message's never kept: it goes through.
		const answer = await client.call<InferAnswer>("ModelInfer", rawRequest(x, rows));
		expect(answer.outputs.map(o => o.shape[0])).toEqual(answer.outputs.map(() => rows));
		// Nothing is left held: two answered in a row fit again.
		await client.call<InferAnswer>("ModelInfer", rawRequest(x, rows));
	}, 30_000);
});
