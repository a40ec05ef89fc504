/**
 * One optimization job on a trainer, from the source version to the optimized version: read
 * the source file and the dataset, rebuild the source's test split (and training rows for
 * calibration), run the recipe, evaluate the result against the source on the test rows (with
 * a latency sweep on this node), decide Validated or Trained, store the file and register the
 * new version with its lineage and report. It reports through the training events, so the
 * queue records its start, progress, completion or failure as for training. What it reaches
 * outside comes in as ports (the trainer service wires them), as in lib/training/job-runner.ts.
 */
import type { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { parseDataset } from "../datasets/parse-dataset";
import { NotFoundError } from "../errors";
import { jobVersionKey, registerJobVersion } from "../model-spec/version-idempotency";
import type { Metric } from "../model-spec/version-spec";
import type { ModelSchema } from "../model-spec/model-schema";
import { readOnnxModel } from "../onnx/onnx-reader";
import { evaluateOptimization, type OptimizationEvaluation } from "./evaluation";
import { evaluationRows } from "./evaluation-rows";
import { judgeOptimization, type OptimizationVerdict } from "./optimization-acceptance";
import { datasetEvaluationRows } from "./dataset-evaluation";
import { isDatasetEvaluation, type OptimizationSpec } from "./optimization-spec";
import type { RecipeOutput } from "./recipe";
import { recipeFor } from "./recipes";

export interface OptimizationJobRun {
	jobId: string;
	model: string;
	spec: Record<string, unknown>;
	dataset: { ref: string; sha256: string; format: string; labelColumn: string | null };
}

interface EventBase {
	jobId: string;
	tenant: string;
	model: string;
	nodeID: string;
}

/** The training events' payloads (lib/events.ts training.*) that an optimization job sends. */
export interface OptimizationJobEvents {
	started: EventBase & { fromEpoch: number; backend: string; device: string };
	progress: EventBase & {
		epoch: number;
		epochs: number;
		metrics: Record<string, number>;
		samplesPerSecond: number;
		etaMs: number;
	};
	completed: EventBase & {
		version: string;
		state: "Trained" | "Validated";
		metrics: Record<string, number>;
		bestEpoch: number;
		epochsRun: number;
		stoppedEarly: boolean;
	};
	failed: EventBase & { reason: string; final: boolean };
}

/** What `versions.create` takes for the optimized version. */
export interface OptimizedVersion {
	model: string;
	bump: "minor";
	format: string;
	artifact: { sha256: string; size: number };
	description: string;
	schema: ModelSchema;
	pipeline: OptimizationSpec["source"]["pipeline"];
	labels: string[] | null;
	metrics: Metric[];
	lineage: {
		parentVersion: string;
		trainingJob: string;
		datasetSha256: string;
		hyperparameters: { recipe: string; params: unknown };
	};
	details: { optimization: OptimizationReport };
	state: "Trained" | "Validated";
	/** `job:<jobId>` (lib/model-spec/version-idempotency.ts): one job, one version, however often sent. */
	idempotencyKey: string;
}

/** Kept with the version (details.optimization): what was done and how it measured. */
export interface OptimizationReport {
	sourceVersion: string;
	recipe: string;
	params: unknown;
	jobId: string;
	notes: string[];
	recipeDetails: Record<string, unknown>;
	evaluation: OptimizationEvaluation;
	acceptance: OptimizationSpec["acceptance"] & OptimizationVerdict;
	nodeID: string;
}

export interface OptimizationJobPorts<I> {
	identity(): I;
	readBlob(sha256: string): Promise<Readable | null>;
	storeArtifact(bytes: Uint8Array, identity: () => I): Promise<{ sha256: string; size: number }>;
	registerVersion(version: OptimizedVersion, identity: I): Promise<{ version: string }>;
	emit<E extends keyof OptimizationJobEvents>(
		event: E,
		payload: OptimizationJobEvents[E],
	): Promise<void>;
	isFinal(err: unknown): boolean;
	warn(message: string, err?: unknown): void;
}

export interface OptimizationJobOptions {
	nodeID: string;
	/** Per batch size and model, the latency sweep's time; default 300 ms. */
	sweepMs?: number;
}

/** Runs the job to its end; never rejects (a stop reports nothing: the scheduler knows). */
export async function runOptimizationJob<I>(
	job: OptimizationJobRun,
	tenant: string,
	signal: AbortSignal,
	ports: OptimizationJobPorts<I>,
	options: OptimizationJobOptions,
): Promise<void> {
	const base: EventBase = { jobId: job.jobId, tenant, model: job.model, nodeID: options.nodeID };
	const spec = job.spec as unknown as OptimizationSpec;
	try {
		await ports.emit("started", {
			...base,
			fromEpoch: 1,
			backend: "onnxruntime",
			device: "cpu",
		});
		const { version, report, state } = await optimize(job, spec, base, signal, ports, options);
		const registered = await registerJobVersion(
			() => ports.registerVersion(version, ports.identity()),
			earlier =>
				ports.warn(
					`Optimization job ${job.jobId}: an earlier attempt registered its version ${earlier}; this attempt's result is not registered.`,
				),
		);
		await ports.emit("completed", {
			...base,
			version: registered.version,
			state,
			metrics: summaryMetrics(report.evaluation),
			bestEpoch: 0,
			epochsRun: 0,
			stoppedEarly: false,
		});
	} catch (err) {
		if (signal.aborted) return;
		const final = ports.isFinal(err);
		ports.warn(`Optimization job ${job.jobId} failed:`, (err as Error).message);
		await ports.emit("failed", { ...base, reason: (err as Error).message, final });
	}
}

/** Long because it is the job's one straight path: read, run the recipe, evaluate, store. */
async function optimize<I>(
	job: OptimizationJobRun,
	spec: OptimizationSpec,
	base: EventBase,
	signal: AbortSignal,
	ports: OptimizationJobPorts<I>,
	options: OptimizationJobOptions,
) {
	signal.throwIfAborted();
	const source = await readBytes(
		ports,
		spec.source.artifact.sha256,
		`version ${spec.source.version}`,
	);
	const datasetFile = await ports.readBlob(job.dataset.sha256);
	if (datasetFile === null) throw new NotFoundError("dataset file", job.dataset.ref);
	const dataset = await parseDataset(datasetFile, {
		format: job.dataset.format as "csv" | "ndjson",
		labelColumn: job.dataset.labelColumn ?? undefined,
		maxBytes: Number.MAX_SAFE_INTEGER,
	});
	const rows = isDatasetEvaluation(spec.evaluation)
		? datasetEvaluationRows(dataset, spec.evaluation, spec.source)
		: evaluationRows(dataset, spec.evaluation, spec.source);
	const recipe = recipeFor(spec.recipe);
	let reported = 0;
	const progress = (fraction: number, message: string) => {
		// Percent of the recipe as the queue's "epoch" of 100; evaluation is the last 10.
		const percent = Math.min(90, Math.max(reported, Math.round(fraction * 90)));
		if (percent === reported) return;
		reported = percent;
		void ports.emit("progress", {
			...base,
			epoch: percent,
			epochs: 100,
			metrics: {},
			samplesPerSecond: 0,
			etaMs: 0,
		});
		void message;
	};
	signal.throwIfAborted();
	const output: RecipeOutput = await recipe.run({
		sourceFile: source,
		sourceFormat: spec.source.format,
		params: spec.params,
		dataset: recipe.needsDataset ? rows.train : null,
		signal,
		progress,
	});
	signal.throwIfAborted();
	progress(1, "evaluating");
	const evaluation = await evaluateOptimization(source, output.file, rows.test, {
		sweepMs: options.sweepMs,
		sourceFormat: spec.source.format,
		optimizedFormat: output.format,
	});
	signal.throwIfAborted();
	const verdict = judgeOptimization(evaluation, spec.acceptance);
	const state: "Trained" | "Validated" = verdict.passed ? "Validated" : "Trained";
	const stored = await ports.storeArtifact(output.file, () => ports.identity());
	const report: OptimizationReport = {
		sourceVersion: spec.source.version,
		recipe: spec.recipe,
		params: spec.params,
		jobId: job.jobId,
		notes: output.notes,
		recipeDetails: output.details ?? {},
		evaluation,
		acceptance: { ...spec.acceptance, ...verdict },
		nodeID: options.nodeID,
	};
	const version: OptimizedVersion = {
		model: job.model,
		bump: "minor",
		format: output.format,
		artifact: { sha256: stored.sha256, size: stored.size },
		description: `${spec.recipe} of version ${spec.source.version} (optimization job ${job.jobId}).`,
		schema:
			output.format === "onnx"
				? schemaOf(spec.source.schema, output.file)
				: spec.source.schema,
		pipeline: spec.source.pipeline,
		labels: spec.source.labels,
		metrics: evaluation.accuracy
			? [
					{
						name: "accuracy",
						value: evaluation.accuracy.optimized,
						dataset: isDatasetEvaluation(spec.evaluation)
							? {
									name: spec.evaluation.dataset,
									sha256: dataset.sha256,
									split: "all",
								}
							: { sha256: dataset.sha256, split: "test" },
					},
				]
			: [],
		lineage: {
			parentVersion: spec.source.version,
			trainingJob: job.jobId,
			datasetSha256: dataset.sha256,
			hyperparameters: { recipe: spec.recipe, params: spec.params },
		},
		details: { optimization: report },
		state,
		idempotencyKey: jobVersionKey(job.jobId),
	};
	return { version, report, state };
}

async function readBytes<I>(ports: OptimizationJobPorts<I>, sha256: string, what: string) {
	const file = await ports.readBlob(sha256);
	if (file === null) throw new NotFoundError("model file", `${what} (sha256 ${sha256})`);
	return new Uint8Array(await buffer(file));
}

/** The source's schema with the datatypes the optimized file declares (FP16 without keepIoTypes). */
export function schemaOf(schema: ModelSchema, file: Uint8Array): ModelSchema {
	const graph = readOnnxModel(file).graph;
	const datatypes = new Map([...graph.inputs, ...graph.outputs].map(v => [v.name, v.datatype]));
	const retype = <T extends { name: string; datatype: string }>(spec: T): T => ({
		...spec,
		datatype: datatypes.get(spec.name) ?? spec.datatype,
	});
	return { inputs: schema.inputs.map(retype), outputs: schema.outputs.map(retype) };
}

/** The evaluation in the `training.completed` event's flat metrics. */
export function summaryMetrics(evaluation: OptimizationEvaluation): Record<string, number> {
	const metrics: Record<string, number> = {
		sizeRatio: evaluation.size.ratio,
		maxAbsDiff: evaluation.agreement.maxAbsDiff,
		maxRelDiff: evaluation.agreement.maxRelDiff,
	};
	if (evaluation.agreement.argmax !== null) metrics.argmaxAgreement = evaluation.agreement.argmax;
	if (evaluation.accuracy !== null) {
		metrics.accuracy = evaluation.accuracy.optimized;
		metrics.accuracyDelta = evaluation.accuracy.delta;
	}
	for (const point of evaluation.latency.optimized)
		metrics[`latencyMsBatch${point.batch}`] = point.p50Ms;
	return metrics;
}
