/**
 * The predictor on an all-in-one node: versions imported through the registry, served from the
 * model cache, through the validator, the pipelines and the batching queue, with the XGBoost
 * walker in the worker pool.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { RequestMeta } from "../../lib/accounts/access";
import type { InferResult } from "../../lib/predictor/served-model";
import type { StartedNode } from "../../nodes/start-node";
import { metaFor } from "../support/control-broker";
import { startTestNode, type TestNode } from "../support/test-node";
import { waitFor } from "../support/wait";
import type { FleetNode } from "../../lib/fleet/node-inventory";
import { MLP_EXAMPLE, writeMlpModel } from "../unit/onnx/example-models";
import { AnsweredAsJson } from "../../lib/http/json-answer";

const FIXTURES = path.join(__dirname, "..", "fixtures");
const OWNER_KEY = "mf_predictor-test-owner";

describe("predictor on an all-in-one node", () => {
	let testNode: TestNode;
	let node: StartedNode;
	let owner: RequestMeta;
	let other: RequestMeta;
	const infer = (params: Record<string, unknown>, meta: RequestMeta = owner) =>
		node.broker.call<InferResult, Record<string, unknown>>("predictor.infer", params, { meta });

	beforeAll(async () => {
		testNode = await startTestNode(OWNER_KEY, {
			MODELFLEET_POOL_THREADS: "2",
			MODELFLEET_STATUS_INTERVAL_MS: "200",
		});
		node = testNode.node;
		owner = await metaFor(node.broker, OWNER_KEY);
		const { ownerKey } = await node.broker.call<
			{ ownerKey: { key: string } },
			{ name: string }
		>("accounts.tenants.create", { name: "other" }, { meta: owner });
		other = await metaFor(node.broker, ownerKey.key);

		const call = (action: string, params: Record<string, unknown>) =>
			node.broker.call(action, params, { meta: owner });
		await call("registry.models.create", {
			name: "mlp",
			task: "classification",
			framework: "onnx",
		});
		const mlp = await node.broker.call<{ sha256: string }, Record<string, never>>(
			"artifacts.put",
			{},
			{ stream: fs.createReadStream(writeTemp(writeMlpModel())), meta: owner },
		);
		await call("registry.versions.import", {
			model: "mlp",
			artifact: mlp.sha256,
			version: "1.0.0",
			labels: ["no", "yes"],
			pipeline: { post: [{ type: "argmax" }] },
		});
		// The same file as a second version served without batching.
		await call("registry.versions.import", {
			model: "mlp",
			artifact: mlp.sha256,
			version: "1.1.0",
			serving: { batching: { enabled: false } },
		});
		await call("registry.models.create", {
			name: "iris",
			task: "classification",
			framework: "xgboost",
		});
		const iris = await node.broker.call<{ sha256: string }, Record<string, never>>(
			"artifacts.put",
			{},
			{
				stream: fs.createReadStream(
					path.join(FIXTURES, "xgboost", "iris-multi-softprob.json"),
				),
				meta: owner,
			},
		);
		await call("registry.versions.import", {
			model: "iris",
			artifact: iris.sha256,
			version: "1.0.0",
		});
		await call("registry.aliases.set", { model: "iris", alias: "champion", version: "1.0.0" });
	}, 60_000);

	afterAll(() => testNode?.stop());

	function writeTemp(bytes: Uint8Array): string {
		const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "mf-file-")), "model");
		fs.writeFileSync(file, bytes);
		return file;
	}

	it("runs an ONNX version with its post-processing and says what ran", async () => {
		const result = await infer({
			model: "mlp",
			version: "1.0.0",
			id: "req-1",
			inputs: [{ name: "x", datatype: "FP32", shape: [2, 4], data: MLP_EXAMPLE.x }],
		});
		expect(result).toMatchObject({
			modelName: "mlp",
			modelVersion: "1.0.0",
			id: "req-1",
			executionProvider: "cpu",
			rows: 2,
		});
		const logits = result.outputs.find(o => o.name === "logits")!;
		expect(Array.from(logits.data as Float32Array)).toEqual(
			MLP_EXAMPLE.logits.map(v => Math.fround(v)),
		);
		expect(result.outputs.find(o => o.name === "predicted_label")?.data).toEqual([
			"yes",
			"yes",
		]);
		expect(result.steps).toEqual(expect.arrayContaining(["argmax"]));
	});

	it("serves an XGBoost version by alias from the pool, equal to XGBoost's own predictions", async () => {
		const saved = JSON.parse(
			fs.readFileSync(
				path.join(FIXTURES, "xgboost", "iris-multi-softprob.predictions.json"),
				"utf8",
			),
		) as {
			rows: (number | null)[][];
			predictions: number[][];
		};
		const complete = saved.rows
			.map((row, i) => ({ row, expected: saved.predictions[i] }))
			.filter(r => r.row.every(v => v !== null));
		const result = await infer({
			model: "iris@champion",
			inputs: [
				{
					name: "input",
					datatype: "FP32",
					shape: [complete.length, 4],
					data: complete.flatMap(r => r.row),
				},
			],
		});
		expect(result.executionProvider).toBe("js");
		const got = Array.from(result.outputs[0].data as Float32Array);
		const want = complete.flatMap(r => r.expected);
		expect(Math.max(...got.map((v, i) => Math.abs(v - want[i])))).toBeLessThanOrEqual(1e-6);
	});

	it("takes tensors as typed arrays, as fleet callers send them, and answers typed arrays", async () => {
		const result = await infer({
			model: "mlp",
			version: "1.0.0",
			inputs: [
				{
					name: "x",
					datatype: "FP32",
					shape: [2, 4],
					data: new Float32Array(MLP_EXAMPLE.x),
				},
			],
			outputs: [{ name: "logits" }],
		});
		expect(result.outputs.map(o => o.name)).toEqual(["logits"]);
		expect(result.outputs[0].data).toBeInstanceOf(Float32Array);
		expect(Array.from(result.outputs[0].data as Float32Array)).toEqual(MLP_EXAMPLE.logits);
	});

	it("takes a request as its JSON bytes, as a gateway forwards it, with the answers and errors of the parsed request", async () => {
		const request = {
			id: "fwd-1",
			inputs: [{ name: "x", datatype: "FP32", shape: [2, 4], data: MLP_EXAMPLE.x }],
		};
		const bytes = (value: unknown) => Buffer.from(JSON.stringify(value));
		const parsed = await infer({ model: "mlp", version: "1.0.0", ...request });
		const forwarded = await infer({ model: "mlp", version: "1.0.0", json: bytes(request) });
		expect(forwarded).toEqual(parsed);
		// Answered as JSON text should it travel (lib/http/json-answer.ts); a parsed one is not.
		expect(forwarded).toBeInstanceOf(AnsweredAsJson);
		expect(parsed).not.toBeInstanceOf(AnsweredAsJson);
		// Each request of an inferMany alone: a bad one (not JSON, too deep, NUL) fails as it
		// would have at the gateway, the good ones answer.
		const outcomes = await node.broker.call<
			Array<{ ok: boolean; value?: InferResult; error?: { type: string; code: number } }>,
			Record<string, unknown>
		>(
			"predictor.inferMany",
			{
				model: "mlp",
				version: "1.0.0",
				requests: [
					{ json: bytes(request) },
					{ json: Buffer.from("{not json") },
					{ json: Buffer.from(`${"[".repeat(100)}${"]".repeat(100)}`) },
					{ json: Buffer.from('{"id":"a\\u0000"}') },
					{ json: bytes([1, 2]) },
					request,
				],
			},
			{ meta: owner },
		);
		expect(outcomes.map(o => o.ok)).toEqual([true, false, false, false, false, true]);
		expect(outcomes[0].value).toEqual(parsed);
		expect(outcomes[0].value).toBeInstanceOf(AnsweredAsJson);
		expect(outcomes[5].value).not.toBeInstanceOf(AnsweredAsJson);
		expect(outcomes.slice(1, 5).map(o => [o.error?.type, o.error?.code])).toEqual([
			["INVALID_INPUT", 400],
			["JSON_TOO_DEEP", 400],
			["INVALID_TEXT", 400],
			["INVALID_INPUT", 400],
		]);
		// A `json` field a client wrote (a string, not bytes) is just an unknown field.
		await expect(
			infer({ model: "mlp", version: "1.0.0", json: JSON.stringify(request) }),
		).rejects.toMatchObject({ code: 400 });
	});

	it("serves a version with its own batching settings", async () => {
		const results = await Promise.all(
			[1, 2, 3].map(() =>
				infer({
					model: "mlp",
					version: "1.1.0",
					inputs: [{ name: "x", datatype: "FP32", shape: [2, 4], data: MLP_EXAMPLE.x }],
				}),
			),
		);
		for (const result of results) {
			expect(
				Array.from(result.outputs.find(o => o.name === "logits")!.data as Float32Array),
			).toEqual(MLP_EXAMPLE.logits);
		}
	});

	it("answers bad input with 400 naming the input, and never runs it", async () => {
		await expect(
			infer({
				model: "mlp",
				version: "1.0.0",
				inputs: [{ name: "x", datatype: "FP32", shape: [1, 3], data: [1, 2, 3] }],
			}),
		).rejects.toMatchObject({ code: 400, message: expect.stringContaining("'x'") });
		await expect(
			infer({
				model: "mlp",
				version: "1.0.0",
				inputs: [{ name: "wrong", datatype: "FP32", shape: [1, 4], data: [1, 2, 3, 4] }],
			}),
		).rejects.toMatchObject({ code: 400 });
	});

	it("answers 404 for an unknown model and for another tenant's", async () => {
		await expect(infer({ model: "nope", inputs: [] })).rejects.toMatchObject({ code: 404 });
		await expect(
			infer(
				{
					model: "mlp",
					version: "1.0.0",
					inputs: [{ name: "x", datatype: "FP32", shape: [1, 4], data: [1, 2, 3, 4] }],
				},
				other,
			),
		).rejects.toMatchObject({ code: 404 });
	});

	it("batches concurrent callers and answers each its own rows", async () => {
		const rows = Array.from({ length: 40 }, (_, i) => [i % 3, (i * 7) % 5, 1, -1]);
		const results = await Promise.all(
			rows.map(row =>
				infer({
					model: "mlp",
					version: "1.0.0",
					inputs: [{ name: "x", datatype: "FP32", shape: [1, 4], data: row }],
				}),
			),
		);
		const alone = await infer({
			model: "mlp",
			version: "1.0.0",
			inputs: [{ name: "x", datatype: "FP32", shape: [40, 4], data: rows.flat() }],
		});
		const together = Array.from(
			alone.outputs.find(o => o.name === "logits")!.data as Float32Array,
		);
		results.forEach((result, i) => {
			expect(
				Array.from(result.outputs.find(o => o.name === "logits")!.data as Float32Array),
			).toEqual(together.slice(i * 2, i * 2 + 2));
		});
	});

	it("reports what it serves in the node's live status", async () => {
		await waitFor(
			"a status with the models loaded and cache hits",
			async () => {
				const [self] = await node.broker.call<FleetNode[]>("scheduler.nodes");
				const serving = self.status?.serving;
				// An older status may still show the earlier tests' requests in flight.
				const settled = serving && serving.activeRequests === 0;
				return settled && serving.modelsLoaded >= 2 && serving.cacheHitRatio > 0
					? serving
					: undefined;
			},
			5000,
		).then(serving => {
			expect(serving.modelBytes).toBeGreaterThan(0);
		});
	});

	it("loads, pins, reports and unloads versions on request", async () => {
		await node.broker.call(
			"predictor.load",
			{ model: "iris", version: "1.0.0", pin: true },
			{ meta: owner },
		);
		const stats = await node.broker.call<{
			cache: { entries: { key: string; pinned: boolean }[]; hits: number; hitRatio: number };
		}>("predictor.stats");
		expect(stats.cache.entries.find(e => e.key.endsWith("/iris@1.0.0"))).toMatchObject({
			pinned: true,
		});
		expect(stats.cache.hits).toBeGreaterThan(0);
		const unloaded = await node.broker.call<
			{ unloaded: boolean },
			{ model: string; version: string }
		>("predictor.unload", { model: "iris", version: "1.0.0" }, { meta: owner });
		expect(unloaded.unloaded).toBe(true);
	});

	it("loads with a node's batching settings, live on a loaded version, and refuses bad ones", async () => {
		const load = (params: Record<string, unknown>) =>
			node.broker.call<
				{ key: string; batching: { maxBatchSize: number } },
				Record<string, unknown>
			>(
				"predictor.load",
				{ model: "mlp", version: "1.1.0", pin: true, ...params },
				{ meta: owner },
			);
		const first = await load({ batching: { enabled: true, maxBatchSize: 8 } });
		expect(first.batching).toMatchObject({ enabled: true, maxBatchSize: 8 });
		const second = await load({ batching: { maxBatchSize: 4, maxQueueDelayMicros: 0 } });
		expect(second.batching).toMatchObject({ maxBatchSize: 4, maxQueueDelayMicros: 0 });
		await expect(load({ batching: { maxBatchSize: 0 } })).rejects.toMatchObject({
			code: 422,
		});
		await expect(load({ batching: { maxBatchSise: 4 } })).rejects.toMatchObject({ code: 422 });
		await expect(
			load({ batching: { maxBatchSize: 4, preferredBatchSizes: [8] } }),
		).rejects.toMatchObject({ code: 400 });
		// Still served, with the last good settings.
		const result = await infer({
			model: "mlp",
			version: "1.1.0",
			inputs: [{ name: "x", datatype: "FP32", shape: [2, 4], data: MLP_EXAMPLE.x }],
		});
		expect(result.rows).toBe(2);
	});

	it("reports each loaded version's live load in stats and in the node status", async () => {
		const stats = await node.broker.call<{
			models: { key: string; version: string; pinned: boolean; active: number }[];
		}>("predictor.stats");
		const mlp = stats.models.find(m => m.key.endsWith("/mlp@1.1.0"));
		expect(mlp).toMatchObject({ model: "mlp", version: "1.1.0", pinned: true, active: 0 });
		const serving = await waitFor(
			"a status listing the pinned version",
			async () => {
				const [self] = await node.broker.call<FleetNode[]>("scheduler.nodes");
				const models = self.status?.serving?.models ?? [];
				return models.some(m => m.key === mlp?.key && m.pinned) ? models : undefined;
			},
			5000,
		);
		expect(serving.find(m => m.key === mlp?.key)).toEqual({
			key: mlp?.key,
			pinned: true,
			active: 0,
			ongoing: expect.any(Number),
			bytes: expect.any(Number),
		});
	});

	it("unpins a version without unloading it, then unloads it", async () => {
		const unload = (params: Record<string, unknown>) =>
			node.broker.call<{ unloaded: boolean; unpinned: boolean }, Record<string, unknown>>(
				"predictor.unload",
				{ model: "mlp", version: "1.1.0", ...params },
				{ meta: owner },
			);
		await expect(unload({ unpin: true })).resolves.toMatchObject({
			unloaded: false,
			unpinned: true,
		});
		const models = async () =>
			(
				await node.broker.call<{ models: { key: string; pinned: boolean }[] }>(
					"predictor.stats",
				)
			).models;
		expect((await models()).find(m => m.key.endsWith("/mlp@1.1.0"))).toMatchObject({
			pinned: false,
		});
		await expect(unload({})).resolves.toMatchObject({ unloaded: true, unpinned: false });
		expect((await models()).some(m => m.key.endsWith("/mlp@1.1.0"))).toBe(false);
	});
});
