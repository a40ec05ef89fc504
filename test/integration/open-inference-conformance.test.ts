/**
 * Open Inference Protocol conformance, written from the protocol's own OpenAPI document
 * (test/fixtures/open-inference/open_inference_rest.yaml) and Triton's
 * binary tensor data extension: every endpoint, every datatype our runtimes take (JSON and
 * binary, in and out), nested and flat data, requested outputs, `id`, and every error path
 * with its status and `{error}` body. Every JSON body is checked against the spec's schemas.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import Ajv, { type ValidateFunction } from "ajv";
import { load as loadYaml } from "js-yaml";
import { startNode, type StartedNode } from "../../nodes/start-node";
import { writeOnnxModel } from "../../lib/onnx/onnx-writer";
import type { OipDatatype } from "../../lib/model-spec/model-schema";
import { freePort } from "../support/node-process";
import { startTestNode, type TestNode } from "../support/test-node";
import { MLP_EXAMPLE, writeMlpModel } from "../unit/onnx/example-models";

const KEY = "mf_oip-conformance-owner";
const SPEC = path.join(__dirname, "..", "fixtures", "open-inference", "open_inference_rest.yaml");

const ajv = new Ajv({ strict: false, allErrors: true });
ajv.addSchema(loadYaml(fs.readFileSync(SPEC, "utf8")) as object, "oip");

type SpecSchema =
	| "metadata_server_response"
	| "metadata_server_error_response"
	| "metadata_model_response"
	| "metadata_model_error_response"
	| "inference_response"
	| "inference_error_response";

const validators = new Map<SpecSchema, ValidateFunction>();

/** Asserts that a body validates against one of the spec's response schemas. */
function expectConforms(schema: SpecSchema, body: unknown): void {
	let validate = validators.get(schema);
	if (!validate) {
		validate = ajv.getSchema(`oip#/components/schemas/${schema}`)!;
		validators.set(schema, validate);
	}
	const ok = validate(body);
	if (!ok)
		throw new Error(`${schema}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body)}`);
}

/** One sample per datatype: JSON values in, and the JSON values the response must carry. */
const SAMPLES: Record<OipDatatype, { json: unknown[]; expected?: unknown[]; bytes: Uint8Array }> = {
	BOOL: { json: [true, false, true, true], bytes: Uint8Array.from([1, 0, 1, 1]) },
	UINT8: { json: [0, 7, 200, 255], bytes: Uint8Array.from([0, 7, 200, 255]) },
	INT8: { json: [-128, -1, 0, 127], bytes: u8(Int8Array.from([-128, -1, 0, 127])) },
	UINT16: { json: [0, 1, 60000, 65535], bytes: u8(Uint16Array.from([0, 1, 60000, 65535])) },
	INT16: {
		json: [-32768, -2, 3, 32767],
		bytes: u8(Int16Array.from([-32768, -2, 3, 32767])),
	},
	UINT32: {
		json: [0, 1, 3e9, 4294967295],
		bytes: u8(Uint32Array.from([0, 1, 3e9, 4294967295])),
	},
	INT32: {
		json: [-5, 0, 5, 2147483647],
		bytes: u8(Int32Array.from([-5, 0, 5, 2147483647])),
	},
	UINT64: {
		json: [0, 1, 2 ** 53 - 1, "18446744073709551615"],
		bytes: u8(BigUint64Array.from([0n, 1n, 2n ** 53n - 1n, 2n ** 64n - 1n])),
	},
	INT64: {
		json: [-(2 ** 53 - 1), -1, 2 ** 40, "-9223372036854775808"],
		bytes: u8(BigInt64Array.from([-(2n ** 53n - 1n), -1n, 2n ** 40n, -(2n ** 63n)])),
	},
	FP16: {
		json: [1, -2, 0.5, 65504],
		bytes: u8(Uint16Array.from([0x3c00, 0xc000, 0x3800, 0x7bff])),
	},
	FP32: {
		json: [0.5, -1.25, 1024, 0.125],
		bytes: u8(Float32Array.from([0.5, -1.25, 1024, 0.125])),
	},
	FP64: {
		json: [Math.PI, -1e300, 5e-324, 0],
		bytes: u8(Float64Array.from([Math.PI, -1e300, 5e-324, 0])),
	},
	BYTES: {
		json: ["a", "", "ünïcode", "x".repeat(40)],
		bytes: bytesElements(["a", "", "ünïcode", "x".repeat(40)]),
	},
};
const DATATYPES = Object.keys(SAMPLES) as OipDatatype[];

function u8(view: ArrayBufferView): Uint8Array {
	return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

function bytesElements(values: string[]): Uint8Array {
	return Buffer.concat(
		values.flatMap(v => {
			const text = Buffer.from(v, "utf8");
			const length = Buffer.alloc(4);
			length.writeUInt32LE(text.length);
			return [length, text];
		}),
	);
}

/** x[n, 2] → Identity → y[n, 2], of one datatype. */
function identityModel(datatype: OipDatatype): Uint8Array {
	return writeOnnxModel({
		graph: {
			nodes: [{ opType: "Identity", inputs: ["x"], outputs: ["y"] }],
			inputs: [{ name: "x", datatype, shape: ["n", 2] }],
			outputs: [{ name: "y", datatype, shape: ["n", 2] }],
		},
	});
}

const modelName = (datatype: OipDatatype) => `id-${datatype.toLowerCase()}`;

interface Answer {
	status: number;
	headers: Headers;
	body: Record<string, unknown>;
}

describe("Open Inference Protocol conformance", () => {
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
			headers?: Record<string, string>;
		} = {},
	): Promise<Answer> {
		const key = init.key === undefined ? KEY : init.key;
		const response = await fetch(`${base}${route}`, {
			method:
				init.method ?? (init.json !== undefined || init.raw !== undefined ? "POST" : "GET"),
			headers: {
				...(key ? { authorization: `Bearer ${key}` } : {}),
				...(init.json !== undefined ? { "content-type": "application/json" } : {}),
				...init.headers,
			},
			body: init.json !== undefined ? JSON.stringify(init.json) : init.raw,
		});
		const text = await response.text();
		return {
			status: response.status,
			headers: response.headers,
			body: text === "" ? {} : (JSON.parse(text) as Record<string, unknown>),
		};
	}

	/** A binary request and its raw answer. */
	async function binary(
		route: string,
		header: unknown,
		data: Uint8Array,
		headerLength?: string,
	): Promise<{ status: number; headers: Headers; body: Buffer }> {
		const json = Buffer.from(JSON.stringify(header));
		const response = await fetch(`${base}${route}`, {
			method: "POST",
			headers: {
				authorization: `Bearer ${KEY}`,
				"content-type": "application/octet-stream",
				"inference-header-content-length": headerLength ?? String(json.length),
			},
			body: Buffer.concat([json, data]),
		});
		return {
			status: response.status,
			headers: response.headers,
			body: Buffer.from(await response.arrayBuffer()),
		};
	}

	/** An error answer: the status, `{error}` alone, conforming to the spec, with the message matching. */
	function expectError(answer: Answer, status: number, message: RegExp | string): void {
		expect({ status: answer.status, keys: Object.keys(answer.body) }).toEqual({
			status,
			keys: ["error"],
		});
		expectConforms("inference_error_response", answer.body);
		expectConforms("metadata_model_error_response", answer.body);
		if (typeof message === "string") expect(answer.body.error).toContain(message);
		else expect(answer.body.error).toMatch(message);
	}

	async function upload(name: string, bytes: Uint8Array): Promise<void> {
		await call("/api/v1/models", { json: { name, task: "other", framework: "onnx" } });
		const uploaded = await call(`/api/v1/models/${name}/versions/upload?version=1.0.0`, {
			raw: bytes,
			headers: { "content-type": "application/octet-stream" },
		});
		expect(uploaded.status).toBe(201);
	}

	beforeAll(async () => {
		testNode = await startTestNode(KEY, {
			LOG_LEVEL: "error",
			MODELFLEET_POOL_THREADS: "1",
			MODELFLEET_MAX_ROWS_PER_REQUEST: "1000",
			MODELFLEET_MAX_BODY_BYTES: "1MiB",
		});
		node = testNode.node;
		base = node.httpUrl!;
		await upload("mlp", writeMlpModel());
		for (const datatype of DATATYPES)
			await upload(modelName(datatype), identityModel(datatype));
		viewerKey = (
			(await call("/api/v1/keys", { json: { name: "viewer", role: "viewer" } })).body as {
				key: string;
			}
		).key;
		const tenant = await call("/api/v1/tenants", { json: { name: "other-tenant" } });
		otherTenantKey = (tenant.body as { ownerKey: { key: string } }).ownerKey.key;
	}, 120_000);

	afterAll(() => testNode?.stop());

	describe("health and server metadata", () => {
		it("answers live and ready with 200 and no key", async () => {
			expect(await call("/v2/health/live", { key: null })).toMatchObject({
				status: 200,
				body: { live: true },
			});
			expect(await call("/v2/health/ready", { key: null })).toMatchObject({
				status: 200,
				body: { ready: true },
			});
		});

		it("describes the server and advertises the binary tensor data extension", async () => {
			for (const route of ["/v2", "/v2/"]) {
				const answer = await call(route, { key: null });
				expect(answer.status).toBe(200);
				expectConforms("metadata_server_response", answer.body);
				expect(answer.body.extensions).toContain("binary_tensor_data");
			}
		});
	});

	describe("model metadata and readiness", () => {
		it("describes a model, with and without a version", async () => {
			for (const route of [
				"/v2/models/mlp",
				"/v2/models/mlp/versions/1.0.0",
				"/v2/models/mlp/versions/1",
			]) {
				const answer = await call(route);
				expect(answer.status).toBe(200);
				expectConforms("metadata_model_response", answer.body);
				expect(answer.body).toMatchObject({
					name: "mlp",
					versions: ["1.0.0"],
					platform: "onnxruntime_onnx",
					inputs: [{ name: "x", datatype: "FP32", shape: [-1, 4] }],
				});
			}
		});

		it.each(DATATYPES)(
			"gives %s as the datatype of its identity model's tensors",
			async datatype => {
				const answer = await call(`/v2/models/${modelName(datatype)}`);
				expectConforms("metadata_model_response", answer.body);
				expect(answer.body).toMatchObject({
					inputs: [{ name: "x", datatype, shape: [-1, 2] }],
					outputs: [{ name: "y", datatype, shape: [-1, 2] }],
				});
			},
		);

		it("says a model is ready once a replica serves it, as the repository index says, with and without a version", async () => {
			await call("/api/v1/models", {
				json: { name: "ready-mlp", task: "other", framework: "onnx" },
			});
			const uploaded = await call(
				"/api/v1/models/ready-mlp/versions/upload?version=1.0.0&state=Validated",
				{ raw: writeMlpModel(), headers: { "content-type": "application/octet-stream" } },
			);
			expect(uploaded.status).toBe(201);
			const routes = ["/v2/models/ready-mlp/ready", "/v2/models/ready-mlp/versions/1/ready"];
			for (const route of routes)
				expect(await call(route)).toMatchObject({
					status: 400,
					body: {
						name: "ready-mlp",
						version: "1.0.0",
						ready: false,
						state: "UNAVAILABLE",
					},
				});
			const loaded = await call("/v2/repository/models/ready-mlp/load", { method: "POST" });
			expect(loaded.body).toMatchObject({ state: "READY" });
			for (const route of routes)
				expect(await call(route)).toEqual(
					expect.objectContaining({
						status: 200,
						body: { name: "ready-mlp", version: "1.0.0", ready: true },
					}),
				);
		});

		it("answers 404 {error} for an unknown model or version, on every endpoint", async () => {
			for (const route of [
				"/v2/models/nothing",
				"/v2/models/nothing/ready",
				"/v2/models/mlp/versions/9",
				"/v2/models/mlp/versions/9/ready",
			])
				expectError(await call(route), 404, /not found/);
			expectError(
				await call("/v2/models/nothing/infer", { json: { inputs: [] } }),
				404,
				"nothing",
			);
			expectError(
				await call("/v2/models/mlp/versions/9/infer", {
					json: {
						inputs: [
							{ name: "x", shape: [1, 4], datatype: "FP32", data: [1, 2, 3, 4] },
						],
					},
				}),
				404,
				"9.0.0",
			);
		});

		it("answers another tenant's model as unknown (404), not forbidden", async () => {
			expectError(await call("/v2/models/mlp", { key: otherTenantKey }), 404, "mlp");
			expectError(
				await call("/v2/models/mlp/infer", {
					key: otherTenantKey,
					json: {
						inputs: [
							{ name: "x", shape: [1, 4], datatype: "FP32", data: [1, 2, 3, 4] },
						],
					},
				}),
				404,
				"mlp",
			);
		});
	});

	describe("inference, JSON", () => {
		it.each(DATATYPES)("carries %s through, flat data in, flat data out", async datatype => {
			const sample = SAMPLES[datatype];
			const answer = await call(`/v2/models/${modelName(datatype)}/infer`, {
				json: {
					id: `t-${datatype}`,
					inputs: [{ name: "x", shape: [2, 2], datatype, data: sample.json }],
				},
			});
			expect(answer.status).toBe(200);
			expectConforms("inference_response", answer.body);
			expect(answer.body).toMatchObject({
				model_name: modelName(datatype),
				model_version: "1.0.0",
				id: `t-${datatype}`,
				outputs: [
					{ name: "y", shape: [2, 2], datatype, data: sample.expected ?? sample.json },
				],
			});
		});

		it("takes nested data as the shape says and answers the same as flat", async () => {
			const nested = await call("/v2/models/mlp/infer", {
				json: {
					inputs: [
						{
							name: "x",
							shape: [2, 4],
							datatype: "FP32",
							data: [MLP_EXAMPLE.x.slice(0, 4), MLP_EXAMPLE.x.slice(4)],
						},
					],
					outputs: [{ name: "logits" }],
				},
			});
			expectConforms("inference_response", nested.body);
			expect((nested.body.outputs as { data: number[] }[])[0].data).toEqual(
				MLP_EXAMPLE.logits,
			);
		});

		it("gives only the outputs asked for, and all of them when none are named", async () => {
			const input = { name: "x", shape: [2, 4], datatype: "FP32", data: MLP_EXAMPLE.x };
			const one = await call("/v2/models/mlp/infer", {
				json: { inputs: [input], outputs: [{ name: "probabilities" }] },
			});
			expectConforms("inference_response", one.body);
			expect((one.body.outputs as { name: string }[]).map(o => o.name)).toEqual([
				"probabilities",
			]);
			const all = await call("/v2/models/mlp/infer", { json: { inputs: [input] } });
			expectConforms("inference_response", all.body);
			expect((all.body.outputs as { name: string }[]).map(o => o.name).sort()).toEqual([
				"logits",
				"probabilities",
			]);
		});

		it("echoes the request's id, makes one when none is given, and answers parameters as an object", async () => {
			const input = { name: "x", shape: [1, 4], datatype: "FP32", data: [1, 2, 3, 4] };
			const withId = await call("/v2/models/mlp/infer", {
				json: { id: "req-7", parameters: { note: "hello" }, inputs: [input] },
			});
			expect(withId.body).toMatchObject({ id: "req-7", parameters: expect.any(Object) });
			const without = await call("/v2/models/mlp/infer", { json: { inputs: [input] } });
			expectConforms("inference_response", without.body);
			// Every answer names its prediction (feedback refers to it): a UUID made by the server.
			expect(without.body.id).toMatch(
				/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
			);
		});
	});

	describe("inference, binary tensor data", () => {
		it.each(DATATYPES)("carries %s through as binary in and binary out", async datatype => {
			const sample = SAMPLES[datatype];
			const answer = await binary(
				`/v2/models/${modelName(datatype)}/infer`,
				{
					id: "bin",
					parameters: { binary_data_output: true },
					inputs: [
						{
							name: "x",
							shape: [2, 2],
							datatype,
							parameters: { binary_data_size: sample.bytes.length },
						},
					],
				},
				sample.bytes,
			);
			expect(answer.status).toBe(200);
			expect(answer.headers.get("content-type")).toBe("application/octet-stream");
			const headerLength = Number(answer.headers.get("inference-header-content-length"));
			const header = JSON.parse(answer.body.subarray(0, headerLength).toString()) as Record<
				string,
				unknown
			>;
			expect(header).toMatchObject({
				model_name: modelName(datatype),
				id: "bin",
				outputs: [
					{
						name: "y",
						shape: [2, 2],
						datatype,
						parameters: { binary_data_size: sample.bytes.length },
					},
				],
			});
			expect(header.outputs as unknown[]).not.toHaveProperty("0.data");
			expect([...answer.body.subarray(headerLength)]).toEqual([...sample.bytes]);
		});

		it("mixes binary and JSON inputs and outputs as each says", async () => {
			const x = Float32Array.from(MLP_EXAMPLE.x);
			const answer = await binary(
				"/v2/models/mlp/infer",
				{
					inputs: [
						{
							name: "x",
							shape: [2, 4],
							datatype: "FP32",
							parameters: { binary_data_size: 32 },
						},
					],
					parameters: { binary_data_output: true },
					outputs: [
						{ name: "logits" },
						{ name: "probabilities", parameters: { binary_data: false } },
					],
				},
				u8(x),
			);
			const headerLength = Number(answer.headers.get("inference-header-content-length"));
			const header = JSON.parse(answer.body.subarray(0, headerLength).toString()) as {
				outputs: { name: string; data?: number[]; parameters?: unknown }[];
			};
			expect(header.outputs.map(o => [o.name, o.data !== undefined])).toEqual([
				["logits", false],
				["probabilities", true],
			]);
			expect([
				...new Float32Array(Uint8Array.from(answer.body.subarray(headerLength)).buffer),
			]).toEqual(MLP_EXAMPLE.logits);
		});
	});

	describe("errors", () => {
		const mlpInput = (over: Record<string, unknown> = {}) => ({
			inputs: [{ name: "x", shape: [1, 4], datatype: "FP32", data: [1, 2, 3, 4], ...over }],
		});
		const infer = (json: unknown, route = "/v2/models/mlp/infer") => call(route, { json });

		it.each([
			[
				"a body that is not JSON",
				() =>
					call("/v2/models/mlp/infer", {
						raw: "{oops",
						headers: { "content-type": "application/json" },
					}),
				"not valid JSON",
			],
			["a body that is not an object", () => infer([1, 2]), "must be a JSON object"],
			["no inputs", () => infer({}), "no inputs"],
			["inputs that are not an array", () => infer({ inputs: 5 }), "inputs must be an array"],
			["an empty inputs array", () => infer({ inputs: [] }), "at least 1"],
			[
				"an unknown input",
				() => infer(mlpInput({ name: "z" })),
				"inputs[0] 'z': no such input",
			],
			[
				"the wrong datatype",
				() => infer(mlpInput({ datatype: "FP64" })),
				"datatype FP64 does not match",
			],
			[
				"an unknown datatype",
				() => infer(mlpInput({ datatype: "FP8" })),
				"datatype FP8 does not match",
			],
			[
				"the wrong shape",
				() => infer(mlpInput({ shape: [1, 3], data: [1, 2, 3] })),
				"shape [1, 3] does not match",
			],
			[
				"a negative dimension",
				() => infer(mlpInput({ shape: [-1, 4] })),
				"expected an integer ≥ 0",
			],
			[
				"data that does not fill the shape",
				() => infer(mlpInput({ shape: [2, 4] })),
				"data holds 4 values but shape [2, 4] needs 8",
			],
			[
				"nested data off the shape",
				() =>
					infer(
						mlpInput({
							shape: [2, 4],
							data: [
								[1, 2, 3, 4],
								[1, 2, 3],
							],
						}),
					),
				"data[1] holds 3 values",
			],
			[
				"a value of the wrong type",
				() => infer(mlpInput({ data: [1, "two", 3, 4] })),
				'got "two"',
			],
			[
				"an integer out of range",
				() =>
					call("/v2/models/id-uint8/infer", {
						json: {
							inputs: [
								{ name: "x", shape: [1, 2], datatype: "UINT8", data: [1, 300] },
							],
						},
					}),
				"got 300; expected an integer in [0, 255]",
			],
			[
				"an unknown requested output",
				() => infer({ ...mlpInput(), outputs: [{ name: "nope" }] }),
				"'logits', 'probabilities'",
			],
			[
				"an id that is not a string",
				() => infer({ ...mlpInput(), id: 5 }),
				"id must be a string",
			],
			[
				"an input given twice",
				() => infer({ inputs: [...mlpInput().inputs, ...mlpInput().inputs] }),
				"given twice",
			],
		])("answers 400 {error} for %s", async (_what, run, message) => {
			expectError(await run(), 400, message);
		});

		interface BinaryCase {
			size: number;
			bytes: number;
			shape?: number[];
			headerLength?: string;
			model?: string;
			datatype?: string;
			fill?: number;
		}
		it.each<[string, BinaryCase, string]>([
			["a truncated binary body", { size: 32, bytes: 20 }, "runs past the end of the body"],
			[
				"bytes left over after the inputs",
				{ size: 16, bytes: 20, shape: [1, 4] },
				"add up to 16",
			],
			[
				"a size the element size does not divide",
				{ size: 15, bytes: 15, shape: [1, 4] },
				"not a multiple of 4",
			],
			[
				"a header length past the body",
				{ size: 16, bytes: 16, shape: [1, 4], headerLength: "100000" },
				"Inference-Header-Content-Length is 100000",
			],
			[
				"a header length that is not a number",
				{ size: 16, bytes: 16, shape: [1, 4], headerLength: "abc" },
				'Inference-Header-Content-Length is "abc"',
			],
			[
				"a header length that cuts the JSON",
				{ size: 16, bytes: 16, shape: [1, 4], headerLength: "10" },
				"The JSON header is not valid JSON",
			],
			[
				"a binary BOOL that is not 0 or 1",
				{ size: 2, bytes: 2, shape: [1, 2], model: "id-bool", datatype: "BOOL", fill: 2 },
				"expected 0 or 1",
			],
		])("answers 400 {error} for %s", async (_what, c, message) => {
			const answer = await binary(
				`/v2/models/${c.model ?? "mlp"}/infer`,
				{
					inputs: [
						{
							name: "x",
							shape: c.shape ?? [2, 4],
							datatype: c.datatype ?? "FP32",
							parameters: { binary_data_size: c.size },
						},
					],
				},
				new Uint8Array(c.bytes).fill(c.fill ?? 0),
				c.headerLength,
			);
			expectError(
				{
					status: answer.status,
					headers: answer.headers,
					body: JSON.parse(answer.body.toString()),
				},
				400,
				message,
			);
		});

		it("answers 401 {error} without a key or with a wrong one", async () => {
			for (const key of [null, "mf_wrong"]) {
				expectError(await call("/v2/models/mlp", { key }), 401, "API key");
				expectError(await call("/v2/models/mlp/ready", { key }), 401, "API key");
				expectError(
					await call("/v2/models/mlp/infer", { key, json: mlpInput() }),
					401,
					"API key",
				);
			}
		});

		it("answers 403 {error} to a role that may not predict", async () => {
			expectError(
				await call("/v2/models/mlp/infer", { key: viewerKey, json: mlpInput() }),
				403,
				"viewer",
			);
			expect((await call("/v2/models/mlp", { key: viewerKey })).status).toBe(200);
		});

		it("answers 413 {error} over the rows limit and over the body limit", async () => {
			const rows = 1001;
			expectError(
				await infer(mlpInput({ shape: [rows, 4], data: new Array(rows * 4).fill(0) })),
				413,
				"over the limit of 1000 rows",
			);
			const big = await binary(
				"/v2/models/mlp/infer",
				{
					inputs: [
						{
							name: "x",
							shape: [65536 + 1, 4],
							datatype: "FP32",
							parameters: { binary_data_size: (65536 + 1) * 16 },
						},
					],
				},
				new Uint8Array((65536 + 1) * 16),
			);
			expectError(
				{ status: big.status, headers: big.headers, body: JSON.parse(big.body.toString()) },
				413,
				"MODELFLEET_MAX_BODY_BYTES",
			);
		});

		it("answers 404 {error} for a route the protocol does not have", async () => {
			expectError(await call("/v2/models/mlp/infer"), 404, "Not found");
			expectError(await call("/v2/nothing", { key: null }), 404, "Not found");
		});
	});

	describe("Triton's extensions", () => {
		const row = (values: number[]) => ({
			inputs: [{ name: "x", shape: [values.length / 4, 4], datatype: "FP32", data: values }],
		});

		it("advertises every extension served", async () => {
			const answer = await call("/v2", { key: null });
			expectConforms("metadata_server_response", answer.body);
			expect(answer.body.extensions).toEqual([
				"binary_tensor_data",
				"classification",
				"model_configuration",
				"model_repository",
				"statistics",
			]);
		});

		it("gives a version's model configuration as Triton's ModelConfig, 404 for an unknown one", async () => {
			for (const route of ["/v2/models/mlp/config", "/v2/models/mlp/versions/1/config"]) {
				const answer = await call(route);
				expect(answer.status).toBe(200);
				expect(answer.body).toEqual({
					name: "mlp",
					platform: "onnxruntime_onnx",
					backend: "onnxruntime",
					version_policy: { latest: { num_versions: 1 } },
					max_batch_size: 64,
					input: [
						{
							name: "x",
							data_type: "TYPE_FP32",
							format: "FORMAT_NONE",
							dims: [4],
							is_shape_tensor: false,
							allow_ragged_batch: false,
							optional: false,
						},
					],
					output: ["logits", "probabilities"].map(name => ({
						name,
						data_type: "TYPE_FP32",
						dims: [2],
						label_filename: "",
						is_shape_tensor: false,
					})),
					dynamic_batching: {
						preferred_batch_size: [],
						max_queue_delay_microseconds: 0,
						preserve_ordering: false,
						default_queue_policy: { max_queue_size: 1024 },
					},
					instance_group: [{ name: "mlp", kind: "KIND_AUTO", count: 1 }],
					parameters: {},
				});
			}
			expectError(await call("/v2/models/nothing/config"), 404, "nothing");
			expectError(await call("/v2/models/mlp/versions/9/config"), 404, "9.0.0");
			expectError(await call("/v2/models/mlp/config", { key: otherTenantKey }), 404, "mlp");
		});

		it("counts what was served in Triton's statistics: the requests sent, their rows, failures", async () => {
			await upload("stats-mlp", writeMlpModel());
			const before = await call("/v2/models/stats-mlp/stats");
			expect(before.status).toBe(200);
			expect(before.body.model_stats).toEqual([
				expect.objectContaining({
					name: "stats-mlp",
					version: "1.0.0",
					inference_count: 0,
					execution_count: 0,
					last_inference: 0,
				}),
			]);
			const sizes = [1, 2, 3, 1, 5];
			const started = Date.now();
			for (const rows of sizes) {
				const values = Array.from({ length: rows * 4 }, (_, i) => i % 7);
				expect(
					(await call("/v2/models/stats-mlp/infer", { json: row(values) })).status,
				).toBe(200);
			}
			// Through the action route and the REST predict too: the predictor counts them all.
			expect(
				(await call("/v2/models/stats-mlp/versions/1/infer", { json: row([1, 2, 3, 4]) }))
					.status,
			).toBe(200);
			expect(
				(
					await call("/api/v1/models/stats-mlp/predict", {
						json: { instances: [[1, 2, 3, 4]] },
					})
				).status,
			).toBe(200);
			// Two that fail once the version is known (a wrong shape, a wrong datatype).
			const bad = [
				{ inputs: [{ name: "x", shape: [1, 3], datatype: "FP32", data: [1, 2, 3] }] },
				{ inputs: [{ name: "x", shape: [1, 4], datatype: "INT8", data: [1, 2, 3, 4] }] },
			];
			for (const body of bad)
				expect((await call("/v2/models/stats-mlp/infer", { json: body })).status).toBe(400);
			const answer = await call("/v2/models/stats-mlp/stats");
			expect(answer.status).toBe(200);
			const [stat] = answer.body.model_stats as {
				name: string;
				version: string;
				last_inference: number;
				inference_count: number;
				execution_count: number;
				inference_stats: Record<string, { count: number; ns: number }>;
				batch_stats: { batch_size: number; compute_infer: { count: number; ns: number } }[];
			}[];
			const requests = sizes.length + 2;
			expect(stat.name).toBe("stats-mlp");
			expect(stat.version).toBe("1.0.0");
			expect(stat.inference_count).toBe(sizes.reduce((a, b) => a + b, 0) + 2);
			const s = stat.inference_stats;
			expect(s.success.count).toBe(requests);
			expect(s.fail.count).toBe(bad.length);
			expect(s.queue.count).toBe(requests);
			expect(s.compute_input.count).toBe(requests);
			expect(s.compute_infer.count).toBe(requests);
			expect(s.compute_output.count).toBe(requests);
			expect(s.cache_hit).toEqual({ count: 0, ns: 0 });
			for (const name of ["success", "fail", "compute_infer"])
				expect(s[name].ns).toBeGreaterThan(0);
			expect(s.success.ns).toBeGreaterThanOrEqual(s.compute_infer.ns);
			// Sequential requests each run alone: one execution per request, by its batch size.
			expect(stat.execution_count).toBe(requests);
			expect(stat.batch_stats.map(b => b.batch_size)).toEqual([1, 2, 3, 5]);
			expect(stat.batch_stats.reduce((a, b) => a + b.compute_infer.count, 0)).toBe(requests);
			expect(stat.last_inference).toBeGreaterThanOrEqual(started);
			expect(stat.last_inference).toBeLessThanOrEqual(Date.now());

			// The same entry by version, and among every model's; another tenant sees none of it.
			const byVersion = await call("/v2/models/stats-mlp/versions/1/stats");
			expect(byVersion.body.model_stats).toEqual([stat]);
			const all = await call("/v2/models/stats");
			expect(all.status).toBe(200);
			expect(
				(all.body.model_stats as { name: string }[]).find(m => m.name === "stats-mlp"),
			).toEqual(stat);
			const viewer = await call("/v2/models/stats-mlp/stats", { key: viewerKey });
			expect(viewer.status).toBe(200);
			const other = await call("/v2/models/stats", { key: otherTenantKey });
			expect(other).toMatchObject({ status: 200, body: { model_stats: [] } });
			expectError(
				await call("/v2/models/stats-mlp/stats", { key: otherTenantKey }),
				404,
				"stats-mlp",
			);
			expectError(await call("/v2/models/nothing/stats"), 404, "nothing");
			expectError(await call("/v2/models/stats-mlp/versions/9/stats"), 404, "9.0.0");
		});

		it("answers an output asked for by classification as its top classes, 'value:index'", async () => {
			const values = [1, 2, 3, 4, -1, 0, 1, 0];
			const plain = await call("/v2/models/mlp/infer", {
				json: { ...row(values), outputs: [{ name: "probabilities" }] },
			});
			const probabilities = (plain.body.outputs as { data: number[] }[])[0].data;
			const top = (r: number, k: number) =>
				[0, 1]
					.map(i => ({ i, p: probabilities[r * 2 + i] }))
					.sort((a, b) => b.p - a.p || a.i - b.i)
					.slice(0, k)
					.map(({ i, p }) => `${p.toFixed(6)}:${i}`);
			for (const k of [1, 2, 5]) {
				const answer = await call("/v2/models/mlp/infer", {
					json: {
						...row(values),
						outputs: [
							{ name: "probabilities", parameters: { classification: k } },
							{ name: "logits" },
						],
					},
				});
				expect(answer.status).toBe(200);
				expectConforms("inference_response", answer.body);
				const [classes, logits] = answer.body.outputs as {
					name: string;
					datatype: string;
					shape: number[];
					data: unknown[];
				}[];
				const kept = Math.min(k, 2);
				expect(classes).toEqual({
					name: "probabilities",
					datatype: "BYTES",
					shape: [2, kept],
					data: [...top(0, kept), ...top(1, kept)],
				});
				expect(logits).toMatchObject({ name: "logits", datatype: "FP32", shape: [2, 2] });
			}
			for (const k of [0, -1, 1.5, "2"])
				expectError(
					await call("/v2/models/mlp/infer", {
						json: {
							...row(values),
							outputs: [{ name: "probabilities", parameters: { classification: k } }],
						},
					}),
					400,
					"classification",
				);
		});
	});

	describe("compressed bodies and answers (gzip, deflate)", () => {
		const rows = 64;
		const x = Array.from({ length: rows * 4 }, (_, i) => (i % 9) - 4);
		// An id of the client's own: every answer echoes it, so answers to the same request compare
		// equal byte for byte (without one, each gets a prediction id of its own).
		const request = {
			id: "same-request",
			inputs: [{ name: "x", shape: [rows, 4], datatype: "FP32", data: x }],
		};

		/** A request whose answer is read raw (fetch would inflate it and hide the encoding). */
		function raw(
			route: string,
			init: { method?: string; headers?: Record<string, string>; body?: Buffer } = {},
		): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
			return new Promise((resolve, reject) => {
				const req = http.request(
					`${base}${route}`,
					{
						method: init.method ?? (init.body ? "POST" : "GET"),
						headers: { authorization: `Bearer ${KEY}`, ...init.headers },
					},
					res => {
						const chunks: Buffer[] = [];
						res.on("data", chunk => chunks.push(chunk as Buffer));
						res.on("end", () =>
							resolve({
								status: res.statusCode ?? 0,
								headers: res.headers,
								body: Buffer.concat(chunks),
							}),
						);
					},
				);
				req.on("error", reject);
				req.end(init.body);
			});
		}

		it("takes gzip and deflate request bodies, JSON and binary, as the same request", async () => {
			const plain = await call("/v2/models/mlp/infer", { json: request });
			expect(plain.status).toBe(200);
			for (const [encoding, pack] of [
				["gzip", zlib.gzipSync],
				["deflate", zlib.deflateSync],
			] as const) {
				const answer = await raw("/v2/models/mlp/infer", {
					headers: { "content-type": "application/json", "content-encoding": encoding },
					body: pack(JSON.stringify(request)),
				});
				expect(answer.status).toBe(200);
				expect(JSON.parse(answer.body.toString())).toEqual(plain.body);
				// The same through moleculer-web's route (the versioned path takes it there too).
				const versioned = await raw("/v2/models/mlp/versions/1/infer", {
					headers: { "content-type": "application/json", "content-encoding": encoding },
					body: pack(JSON.stringify(request)),
				});
				expect(versioned.status).toBe(200);
				expect(JSON.parse(versioned.body.toString()).outputs).toEqual(plain.body.outputs);
			}
			const header = Buffer.from(
				JSON.stringify({
					inputs: [
						{
							name: "x",
							shape: [rows, 4],
							datatype: "FP32",
							parameters: { binary_data_size: rows * 16 },
						},
					],
				}),
			);
			const binaryBody = Buffer.concat([header, Buffer.from(Float32Array.from(x).buffer)]);
			const binary = await raw("/v2/models/mlp/infer", {
				headers: {
					"content-type": "application/octet-stream",
					"content-encoding": "gzip",
					"inference-header-content-length": String(header.length),
				},
				body: zlib.gzipSync(binaryBody),
			});
			expect(binary.status).toBe(200);
			expect(JSON.parse(binary.body.toString()).outputs).toEqual(plain.body.outputs);
		});

		it("answers gzip or deflate to a client that accepts it, and small answers as they are", async () => {
			const plain = await raw("/v2/models/mlp/infer", {
				headers: { "content-type": "application/json" },
				body: Buffer.from(JSON.stringify(request)),
			});
			expect(plain.headers["content-encoding"]).toBeUndefined();
			expect(plain.body.length).toBeGreaterThan(1024);
			for (const [accept, encoding, unpack] of [
				["gzip, deflate, br", "gzip", zlib.gunzipSync],
				["deflate;q=0.5, gzip;q=0", "deflate", zlib.inflateSync],
			] as const) {
				const answer = await raw("/v2/models/mlp/infer", {
					headers: { "content-type": "application/json", "accept-encoding": accept },
					body: Buffer.from(JSON.stringify(request)),
				});
				expect(answer.headers["content-encoding"]).toBe(encoding);
				expect(answer.headers.vary).toBe("Accept-Encoding");
				expect(Number(answer.headers["content-length"])).toBe(answer.body.length);
				expect(answer.body.length).toBeLessThan(plain.body.length);
				expect(unpack(answer.body)).toEqual(plain.body);
				// moleculer-web's routes too: the versioned infer, and the statistics.
				const versioned = await raw("/v2/models/mlp/versions/1/infer", {
					headers: { "content-type": "application/json", "accept-encoding": accept },
					body: Buffer.from(JSON.stringify(request)),
				});
				expect(versioned.headers["content-encoding"]).toBe(encoding);
				expect(JSON.parse(unpack(versioned.body).toString()).outputs).toEqual(
					JSON.parse(plain.body.toString()).outputs,
				);
			}
			const small = await raw("/v2/models/mlp", { headers: { "accept-encoding": "gzip" } });
			expect(small.status).toBe(200);
			expect(small.headers["content-encoding"]).toBeUndefined();
			expect(JSON.parse(small.body.toString())).toMatchObject({ name: "mlp" });
			// /api/v1 the same way: a gzip JSON body in, a gzip answer out.
			const rest = await raw("/api/v1/models/mlp/predict", {
				headers: {
					"content-type": "application/json",
					"content-encoding": "gzip",
					"accept-encoding": "gzip",
				},
				body: zlib.gzipSync(JSON.stringify(request)),
			});
			expect(rest.status).toBe(200);
			expect(rest.headers["content-encoding"]).toBe("gzip");
			expect(JSON.parse(zlib.gunzipSync(rest.body).toString())).toMatchObject({
				model_name: "mlp",
				outputs: expect.any(Array),
			});
			const identity = await raw("/v2/models/mlp/infer", {
				headers: { "content-type": "application/json", "accept-encoding": "identity" },
				body: Buffer.from(JSON.stringify(request)),
			});
			expect(identity.headers["content-encoding"]).toBeUndefined();
		});

		it("answers 413 to a gzip bomb (the limit counts inflated bytes), 400 to broken data, 415 to another encoding", async () => {
			// 64 MiB of spaces in a JSON body: about 64 KiB compressed, far past the 1 MiB limit.
			const bomb = zlib.gzipSync(
				Buffer.concat([
					Buffer.from('{"inputs":[]'),
					Buffer.alloc(64 * 1024 ** 2, 0x20),
					Buffer.from("}"),
				]),
			);
			expect(bomb.length).toBeLessThan(1024 ** 2);
			for (const route of ["/v2/models/mlp/infer", "/v2/models/mlp/versions/1/infer"]) {
				const answer = await raw(route, {
					headers: { "content-type": "application/json", "content-encoding": "gzip" },
					body: bomb,
				});
				expect(answer.status).toBe(413);
				expect(JSON.parse(answer.body.toString()).error).toContain(
					"MODELFLEET_MAX_BODY_BYTES",
				);
			}
			const broken = await raw("/v2/models/mlp/infer", {
				headers: { "content-type": "application/json", "content-encoding": "gzip" },
				body: Buffer.from("this is not gzip"),
			});
			expect(broken.status).toBe(400);
			expect(JSON.parse(broken.body.toString()).error).toContain("not valid gzip");
			const brotli = await raw("/v2/models/mlp/infer", {
				headers: { "content-type": "application/json", "content-encoding": "br" },
				body: zlib.brotliCompressSync(JSON.stringify(request)),
			});
			expect(brotli.status).toBe(415);
			expect(JSON.parse(brotli.body.toString()).error).toContain("gzip or deflate");
			// The server is still fine.
			expect((await call("/v2/models/mlp/infer", { json: request })).status).toBe(200);
		});
	});

	describe("the version query", () => {
		const x = { inputs: [{ name: "x", shape: [1, 4], datatype: "FP32", data: [1, 2, 3, 4] }] };

		it("is honoured on every infer path: an unknown version answers 404, a known one serves it", async () => {
			expectError(
				await call("/v2/models/mlp/infer?version=9.9.9", { json: x }),
				404,
				"9.9.9",
			);
			expectError(await call("/v2/models/mlp/infer/?version=9", { json: x }), 404, "9.0.0");
			const known = await call("/v2/models/mlp/infer?version=1", { json: x });
			expect(known.status).toBe(200);
			expect(known.body.model_version).toBe("1.0.0");
			// The path's version wins over the query's, as on the metadata routes.
			const both = await call("/v2/models/mlp/versions/1/infer?version=9.9.9", { json: x });
			expect(both.status).toBe(200);
			const rest = await call("/api/v1/models/mlp/predict?version=9.9.9", {
				json: { instances: [[1, 2, 3, 4]] },
			});
			expect(rest.status).toBe(404);
			const batch = await fetch(`${base}/api/v1/models/mlp/batch-predict?version=9.9.9`, {
				method: "POST",
				headers: { authorization: `Bearer ${KEY}`, "content-type": "text/csv" },
				body: "a,b,c,d\n1,2,3,4\n",
			});
			expect(batch.status).toBe(404);
			expect(await call("/v2/models/mlp?version=9.9.9")).toMatchObject({ status: 404 });
			expect(await call("/v2/models/mlp/ready?version=9.9.9")).toMatchObject({ status: 404 });
		});
	});
});

describe("Open Inference Protocol on a gateway with no predictor in reach", () => {
	it("is live, not ready, and answers 503 {error} where a service is missing", async () => {
		const gateway = await startNode(
			"gateway",
			{
				HOST: "127.0.0.1",
				PORT: String(await freePort()),
				METRICS_PORT: "off",
				MODELFLEET_GRPC_PORT: "off",
				LOG_LEVEL: "fatal",
				MODELFLEET_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), "mf-oipc-gw-")),
				MODELFLEET_REQUEST_TIMEOUT_MS: "2000",
			},
			() => undefined,
		);
		try {
			const url = gateway.httpUrl!;
			expect((await fetch(`${url}/v2/health/live`)).status).toBe(200);
			const ready = await fetch(`${url}/v2/health/ready`);
			expect({ status: ready.status, body: await ready.json() }).toEqual({
				status: 503,
				body: { ready: false },
			});
			const infer = await fetch(`${url}/v2/models/mlp/infer`, {
				method: "POST",
				headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
				body: JSON.stringify({ inputs: [] }),
			});
			const body = (await infer.json()) as Record<string, unknown>;
			expect(infer.status).toBe(503);
			expect(Object.keys(body)).toEqual(["error"]);
			expectConforms("inference_error_response", body);
			expect(JSON.stringify(body)).not.toMatch(/accounts\.|nodeID|\/work\//);
		} finally {
			await gateway.stop();
		}
	});
});
