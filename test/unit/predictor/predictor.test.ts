/**
 * The Predictor with fake registry and artifact seams and a real ONNX model: loading with a
 * node's batching override (live on a loaded version), unpinning versus unloading, and the
 * per-version live load report.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { InvalidInputError, NotFoundError } from "../../../lib/errors";
import { Predictor, type PredictorDeps } from "../../../lib/predictor/predictor";
import type { ServingSpec } from "../../../lib/model-spec/version-spec";
import type { VersionView } from "../../../lib/registry/version-store";
import { MLP_EXAMPLE, writeMlpModel } from "../onnx/example-models";

const SCHEMA: VersionView["schema"] = {
	inputs: [{ name: "x", datatype: "FP32", shape: [-1, 4] }],
	outputs: [
		{ name: "logits", datatype: "FP32", shape: [-1, 2] },
		{ name: "probabilities", datatype: "FP32", shape: [-1, 2] },
	],
};

let file: string;
let fileBytes: number;

beforeAll(() => {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mf-predictor-unit-"));
	file = path.join(dir, "mlp.onnx");
	fs.writeFileSync(file, writeMlpModel());
	fileBytes = fs.statSync(file).size;
});

function view(model: string, version: string, serving: ServingSpec = {}): VersionView {
	return {
		id: `${model}-${version}`,
		model,
		version,
		ref: `${model}@${version}`,
		state: "Deployed",
		format: "onnx",
		artifact: { sha256: `sha-${model}`, size: fileBytes },
		description: "",
		schema: SCHEMA,
		pipeline: { pre: [], post: [] },
		labels: null,
		metrics: [],
		lineage: {},
		resources: {},
		details: {},
		serving,
		aliases: [],
		createdAt: "2026-11-27T00:00:00Z",
		updatedAt: "2026-11-27T00:00:00Z",
	};
}

/** A registry of the given versions; a reference without a version names the first. */
function depsOf(...versions: VersionView[]): PredictorDeps {
	return {
		resolveVersion: async (model, version) => {
			const found = versions.find(
				v => v.model === model && (version ?? v.version) === v.version,
			);
			if (!found) throw new NotFoundError("version", `${model}@${version}`);
			return found;
		},
		blobPath: async () => file,
		pool: null,
	};
}

/** An ONNX version's cache size: file × 2 + 1 MiB (lib/runtimes/onnx/onnx-runtime.ts). */
const modelBytes = (): number => fileBytes * 2 + 1024 * 1024;

function predictorWith(models: number): Predictor {
	return new Predictor({
		cacheBytes: models * modelBytes() + 1,
		resolveTtlMs: 0,
		limits: {},
		batching: { maxBatchSize: 64, maxQueueDelayMicros: 2000 },
		poolMinRows: Number.MAX_SAFE_INTEGER,
		executionProviders: ["cpu"],
		warn: () => undefined,
	});
}

const request = {
	inputs: [{ name: "x", datatype: "FP32", shape: [2, 4], data: MLP_EXAMPLE.x }],
	outputs: [{ name: "logits" }],
};

/** Waits until the event loop has run everything that can run now. */
const tick = (): Promise<void> => new Promise(resolve => setImmediate(resolve));

describe("Predictor", () => {
	let predictor: Predictor;
	afterEach(() => predictor?.close());

	it("loads with the node's batching override over the version's own settings", async () => {
		predictor = predictorWith(2);
		const mlp = view("mlp", "1.0.0", { batching: { maxBatchSize: 16, maxQueueSize: 50 } });
		const loaded = await predictor.load(depsOf(mlp), { tenant: "t1", model: "mlp" }, true, {
			maxBatchSize: 8,
			maxQueueDelayMicros: 100,
		});
		expect(loaded.key).toBe("t1/mlp@1.0.0");
		// Override, then the version's own, then the node's defaults.
		expect(loaded.batching).toMatchObject({
			maxBatchSize: 8,
			maxQueueDelayMicros: 100,
			maxQueueSize: 50,
			enabled: true,
		});
	});

	it("applies new settings live to a loaded version, keeping its queued requests", async () => {
		predictor = predictorWith(2);
		const deps = depsOf(view("mlp", "1.0.0"));
		const ref = { tenant: "t1", model: "mlp", version: "1.0.0" };
		// A 100 s delay: requests wait in the queue until the settings change.
		await predictor.load(deps, ref, true, { maxQueueDelayMicros: 100_000_000 });
		let answered = 0;
		const pending = [1, 2, 3].map(() =>
			predictor.infer(deps, ref, request).then(result => {
				answered++;
				return result;
			}),
		);
		await tick();
		await tick();
		expect(answered).toBe(0);
		expect(predictor.servingLoad()).toEqual([
			expect.objectContaining({ key: "t1/mlp@1.0.0", active: 3, queued: 3 }),
		]);

		const reloaded = await predictor.load(deps, ref, true, { maxQueueDelayMicros: 0 });
		expect(reloaded.batching.maxQueueDelayMicros).toBe(0);
		const results = await Promise.all(pending);
		for (const result of results)
			expect(Array.from(result.outputs[0].data as Float32Array)).toEqual(MLP_EXAMPLE.logits);
		expect(predictor.servingLoad()[0]).toMatchObject({ active: 0, queued: 0 });
	});

	it("refuses wrong batching settings with 400 and changes nothing", async () => {
		predictor = predictorWith(2);
		const deps = depsOf(view("mlp", "1.0.0"));
		const ref = { tenant: "t1", model: "mlp" };
		const refused = await predictor
			.load(deps, ref, true, { maxBatchSize: 4, preferredBatchSizes: [8] })
			.catch((error: unknown) => error);
		expect(refused).toBeInstanceOf(InvalidInputError);
		expect(refused).toMatchObject({
			code: 400,
			message: expect.stringContaining("batching.preferredBatchSizes"),
		});
		expect(predictor.servingLoad()).toEqual([]);
		expect(predictor.stats().pinned).toEqual([]);
	});

	it("reports every loaded version's exact version, pin, bytes and live load", async () => {
		predictor = predictorWith(3);
		const deps = depsOf(view("mlp", "1.0.0"), view("mlp", "2.0.0"), view("other", "0.1.0"));
		await predictor.load(deps, { tenant: "t1", model: "mlp", version: "1.0.0" }, true);
		await predictor.infer(deps, { tenant: "t2", model: "other" }, request);
		expect(predictor.servingLoad()).toEqual([
			{
				key: "t1/mlp@1.0.0",
				tenant: "t1",
				model: "mlp",
				version: "1.0.0",
				pinned: true,
				bytes: modelBytes(),
				active: 0,
				ongoing: 0,
				queued: 0,
			},
			{
				key: "t2/other@0.1.0",
				tenant: "t2",
				model: "other",
				version: "0.1.0",
				pinned: false,
				bytes: modelBytes(),
				active: 0,
				ongoing: expect.any(Number),
				queued: 0,
			},
		]);
	});

	it("unpins on request and lets the LRU evict the version later", async () => {
		predictor = predictorWith(2);
		const deps = depsOf(view("a", "1.0.0"), view("b", "1.0.0"), view("c", "1.0.0"));
		await predictor.load(deps, { tenant: "t", model: "a" }, true);
		await predictor.load(deps, { tenant: "t", model: "b" }, false);

		const unpinned = await predictor.unload(deps, { tenant: "t", model: "a" }, { unpin: true });
		expect(unpinned).toEqual({ key: "t/a@1.0.0", unloaded: false, unpinned: true });
		// Still loaded and serving until the memory is needed.
		expect(predictor.servingLoad().map(m => [m.key, m.pinned])).toEqual([
			["t/a@1.0.0", false],
			["t/b@1.0.0", false],
		]);
		await predictor.infer(deps, { tenant: "t", model: "a" }, request);

		// A third model needs room: b, now least recently used, goes; then a.
		await predictor.infer(deps, { tenant: "t", model: "c" }, request);
		expect(predictor.servingLoad().map(m => m.key)).toEqual(["t/a@1.0.0", "t/c@1.0.0"]);
		await predictor.infer(deps, { tenant: "t", model: "b" }, request);
		expect(predictor.servingLoad().map(m => m.key)).toEqual(["t/c@1.0.0", "t/b@1.0.0"]);
	});

	it("unloads now by default, pinned or not", async () => {
		predictor = predictorWith(2);
		const deps = depsOf(view("a", "1.0.0"));
		await predictor.load(deps, { tenant: "t", model: "a" }, true);
		const unloaded = await predictor.unload(deps, { tenant: "t", model: "a" });
		expect(unloaded).toEqual({ key: "t/a@1.0.0", unloaded: true, unpinned: true });
		expect(predictor.servingLoad()).toEqual([]);
		expect(predictor.stats().pinned).toEqual([]);
	});

	it("forgets a load's batching override once the version is unpinned", async () => {
		predictor = predictorWith(2);
		const deps = depsOf(view("a", "1.0.0", { batching: { maxBatchSize: 32 } }));
		const ref = { tenant: "t", model: "a" };
		await predictor.load(deps, ref, true, { maxBatchSize: 4 });
		await predictor.unload(deps, ref);
		const again = await predictor.load(deps, ref, false);
		expect(again.batching.maxBatchSize).toBe(32);
	});
});
