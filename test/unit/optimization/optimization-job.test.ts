/**
 * The optimization job flow with in-memory ports: from the source version and its training
 * job to the registered optimized version (lineage, report, state), evaluated on the very test
 * rows the source was scored on; thresholds that fail give Trained; a stopped job reports
 * nothing; a missing file fails the job.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { Readable } from "node:stream";
import { parseDataset } from "../../../lib/datasets/parse-dataset";
import { IdempotencyConflictError, InvalidInputError } from "../../../lib/errors";
import {
	runOptimizationJob,
	type OptimizationJobEvents,
	type OptimizationJobPorts,
	type OptimizedVersion,
} from "../../../lib/optimization/optimization-job";
import { buildOptimizationJob, sourceJobId } from "../../../lib/optimization/optimization-source";
import { optimizationTable } from "../../../lib/optimization/recommendation";
import { validateJobSpec } from "../../../lib/training/job-spec";
import { runTrainingJob, type TrainingOutcome } from "../../../lib/training/training-run";

const CSV = fs.readFileSync(path.join(__dirname, "..", "..", "fixtures", "datasets", "digits.csv"));
const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

let outcome: TrainingOutcome;
let spec: ReturnType<typeof validateJobSpec>;

beforeAll(async () => {
	const digits = await parseDataset(Readable.from([CSV]), {
		format: "csv",
		labelColumn: "label",
	});
	spec = validateJobSpec({
		dataset: digits.sha256,
		labelColumn: "label",
		seed: 5,
		epochs: 6,
		model: { preset: "medium" },
	});
	outcome = await runTrainingJob({ dataset: digits, spec, jobId: "train-1" });
}, 60_000);

function harness(request: Record<string, unknown>, blobs = new Map<string, Uint8Array>()) {
	blobs.set(sha(outcome.onnx), outcome.onnx);
	blobs.set(sha(CSV), CSV);
	const { spec: jobSpec, datasetId } = buildOptimizationJob(
		request as never,
		{
			model: "digits",
			version: "0.1.0",
			format: "onnx",
			artifact: { sha256: sha(outcome.onnx), size: outcome.onnx.byteLength },
			schema: outcome.version.schema,
			pipeline: outcome.version.pipeline as never,
			labels: outcome.version.labels,
			lineage: { trainingJob: "train-1" },
		},
		{ id: "train-1", datasetId: "ds-1", spec: spec as unknown as Record<string, unknown> },
	);
	const events: Array<[keyof OptimizationJobEvents, unknown]> = [];
	const registered: OptimizedVersion[] = [];
	const warnings: string[] = [];
	const ports: OptimizationJobPorts<string> = {
		identity: () => "tenant-identity",
		readBlob: async hash => {
			const bytes = blobs.get(hash);
			return bytes === undefined ? null : Readable.from([Buffer.from(bytes)]);
		},
		storeArtifact: async bytes => {
			blobs.set(sha(bytes), bytes);
			return { sha256: sha(bytes), size: bytes.byteLength };
		},
		registerVersion: async version => {
			registered.push(version);
			return { version: "0.2.0" };
		},
		emit: async (event, payload) => {
			events.push([event, payload]);
		},
		isFinal: err => err instanceof InvalidInputError,
		warn: message => warnings.push(message),
	};
	const job = {
		jobId: "opt-1",
		model: "digits",
		spec: jobSpec as unknown as Record<string, unknown>,
		dataset: { ref: "digits@1", sha256: sha(CSV), format: "csv", labelColumn: "label" },
	};
	expect(datasetId).toBe("ds-1");
	return { job, ports, events, registered, blobs, warnings };
}

describe("runOptimizationJob", () => {
	it("registers the next version with lineage and report, evaluated on the source's test rows", async () => {
		const h = harness({ recipe: "int8-dynamic" });
		await runOptimizationJob(h.job, "t1", new AbortController().signal, h.ports, {
			nodeID: "w1",
			sweepMs: 20,
		});
		expect(h.events.map(e => e[0])).toEqual(
			expect.arrayContaining(["started", "progress", "completed"]),
		);
		expect(h.events.at(-1)).toEqual([
			"completed",
			expect.objectContaining({ version: "0.2.0", state: "Validated", nodeID: "w1" }),
		]);
		const [version] = h.registered;
		expect(version).toMatchObject({
			model: "digits",
			bump: "minor",
			format: "onnx",
			state: "Validated",
			idempotencyKey: "job:opt-1",
			lineage: {
				parentVersion: "0.1.0",
				trainingJob: "opt-1",
				hyperparameters: { recipe: "int8-dynamic", params: { form: "integer" } },
			},
		});
		expect(h.blobs.has(version.artifact.sha256)).toBe(true);
		const report = version.details.optimization;
		// The same rows and pre-processing as the training job's own evaluation.
		expect(report.evaluation.rows).toBe(outcome.test.rows.length);
		const trainedAccuracy =
			outcome.evaluation?.task === "classification" && outcome.evaluation.accuracy;
		expect(report.evaluation.accuracy!.source).toBeCloseTo(trainedAccuracy as number, 6);
		expect(report.acceptance).toMatchObject({ passed: true, failures: [], maxAccuracyDrop: 1 });
		expect(report.evaluation.latency.optimized.map(p => p.batch)).toEqual([1, 64]);
	}, 30_000);

	it("registers Trained with the failures when a threshold does not hold", async () => {
		const h = harness({ recipe: "fp16", acceptance: { maxRelativeDifference: 0 } });
		await runOptimizationJob(h.job, "t1", new AbortController().signal, h.ports, {
			nodeID: "w1",
			sweepMs: 10,
		});
		const [version] = h.registered;
		expect(version.state).toBe("Trained");
		expect(version.details.optimization.acceptance.failures).toEqual([
			expect.stringMatching(/outputs differ by up to .* \(relative\); at most 0 allowed/),
		]);
		const table = optimizationTable("digits", "0.1.0", [
			{ ...version, version: "0.2.0", lineage: version.lineage, artifact: version.artifact },
		]);
		expect(table.optimizations).toHaveLength(1);
		expect(table.recommended).toBeNull();
	}, 30_000);

	it("completes with the version an earlier attempt of the job registered (its key's)", async () => {
		const h = harness({ recipe: "graph" });
		h.ports.registerVersion = async version => {
			h.registered.push(version);
			throw new IdempotencyConflictError(version.idempotencyKey, "digits", "0.3.0");
		};
		await runOptimizationJob(h.job, "t1", new AbortController().signal, h.ports, {
			nodeID: "w2",
			sweepMs: 10,
		});
		expect(h.registered.map(v => v.idempotencyKey)).toEqual(["job:opt-1"]);
		expect(h.events.at(-1)).toEqual([
			"completed",
			expect.objectContaining({ version: "0.3.0", nodeID: "w2" }),
		]);
		expect(h.warnings).toEqual([
			expect.stringContaining("an earlier attempt registered its version 0.3.0"),
		]);
	}, 30_000);

	it("reports nothing when stopped, and fails when the source file is gone", async () => {
		const stopped = harness({ recipe: "graph" });
		const abort = new AbortController();
		abort.abort(new Error("cancelled"));
		await runOptimizationJob(stopped.job, "t1", abort.signal, stopped.ports, { nodeID: "w1" });
		expect(stopped.events.map(e => e[0])).toEqual(["started"]);
		expect(stopped.registered).toEqual([]);

		const missing = harness({ recipe: "graph" });
		missing.blobs.delete(sha(outcome.onnx));
		await runOptimizationJob(missing.job, "t1", new AbortController().signal, missing.ports, {
			nodeID: "w1",
		});
		expect(missing.events.at(-1)).toEqual([
			"failed",
			expect.objectContaining({ reason: expect.stringMatching(/model file/) }),
		]);
	});

	it("refuses sources without a training job, and recipes that cannot read the format", () => {
		expect(() =>
			sourceJobId({
				model: "m",
				version: "1.0.0",
				format: "onnx",
				artifact: { sha256: "a".repeat(64), size: 1 },
				schema: outcome.version.schema,
				pipeline: outcome.version.pipeline as never,
				labels: null,
				lineage: {},
			}),
		).toThrow(/was not trained by a training job here/);
		expect(() =>
			buildOptimizationJob(
				{ recipe: "fp16" },
				{
					model: "m",
					version: "1.0.0",
					format: "xgboost-json",
					artifact: { sha256: "a".repeat(64), size: 1 },
					schema: outcome.version.schema,
					pipeline: outcome.version.pipeline as never,
					labels: null,
					lineage: { trainingJob: "j" },
				},
				{ id: "j", datasetId: "d", spec: spec as unknown as Record<string, unknown> },
			),
		).toThrow(/reads onnx models; version 1.0.0 is xgboost-json/);
	});
});
