/**
 * One training job from a parsed dataset to everything the registry needs for the new version:
 * split (seeded, stratified for classification), pre-processing fitted on the train split,
 * training in a worker thread, evaluation on the test split, acceptance, the ONNX and TF.js
 * files, and the version's schema, pipeline, labels, metrics and lineage.
 *
 *     const outcome = await runTrainingJob({ dataset, spec, jobId, callbacks: { onProgress, onCheckpoint, signal } });
 *     // registry: create the version with outcome.version (+ files outcome.onnx, outcome.tfjs), state outcome.state
 *
 * Resuming: pass the last checkpoint as `resumeFrom`; the split and pre-processing are made
 * again from the same dataset and seed, so they are the ones the checkpoint was trained on.
 */
import type { Dataset } from "../datasets/dataset";
import { splitDataset, type DatasetSplit } from "../datasets/dataset-split";
import type { Metric, Lineage } from "../model-spec/version-spec";
import { checkAcceptance, type AcceptanceResult } from "./acceptance";
import type { JobSpec, MetricName } from "./job-spec";
import {
	classificationMetrics,
	regressionMetrics,
	type ClassificationMetrics,
	type RegressionMetrics,
} from "./metrics";
import { exportOnnx } from "./onnx-export";
import { fitPreprocessing, type Preprocessing } from "./preprocessing";
import { servingSpec, type ServingSpec } from "./serving-spec";
import { datasetTargets, targetsOf } from "./targets";
import { trainInWorker, type TrainCallbacks } from "./train-in-worker";
import type {
	BackendPreference,
	TfjsModelFiles,
	TrainingData,
	TrainRequest,
	TrainResult,
} from "./training-types";

export type Evaluation =
	| ({ task: "classification"; rows: number } & ClassificationMetrics)
	| ({ task: "regression"; rows: number } & RegressionMetrics);

export interface TrainingJobInput {
	dataset: Dataset;
	spec: JobSpec;
	/** Recorded in the lineage and the ONNX metadata. */
	jobId?: string;
	resumeFrom?: Uint8Array | null;
	/** Default "auto" (see tfjs-backend.ts). */
	backend?: BackendPreference;
	callbacks?: TrainCallbacks;
	/**
	 * Data-parallel: this trainer is rank `rank` of `size` (callbacks.exchange swaps the
	 * gradients). Ranks other than 0 neither predict nor export: rank 0 registers the version.
	 */
	parallel?: { rank: number; size: number } | null;
	/** The seam for tests; default trainInWorker. */
	train?: (request: TrainRequest, callbacks: TrainCallbacks) => Promise<TrainResult>;
}

export interface TrainingOutcome {
	/** Rows per split. */
	split: { train: number; validation: number; test: number };
	preprocessing: Preprocessing;
	/** Metrics on the test split; null when the split has no test rows. */
	evaluation: Evaluation | null;
	acceptance: AcceptanceResult;
	/** Validated when thresholds were given and all hold, else Trained. */
	state: "Trained" | "Validated";
	/** For registry version creation. */
	version: ServingSpec & { metrics: Metric[]; lineage: Lineage };
	onnx: Uint8Array;
	tfjs: TfjsModelFiles | null;
	training: TrainResult;
	/**
	 * The test rows (dataset indices), their features, the TF.js predictions for them and
	 * their targets (class indices or values).
	 */
	test: {
		rows: Uint32Array;
		features: Float32Array;
		predictions: Float32Array | null;
		truth: Int32Array | Float64Array;
	};
}

function trainingData(
	preprocessing: Preprocessing,
	dataset: Dataset,
	rows: Uint32Array,
	y: Int32Array | Float64Array,
): TrainingData {
	return {
		x: preprocessing.transformDataset(dataset, rows),
		rows: rows.length,
		width: preprocessing.outputWidth,
		y,
	};
}

function evaluationMetrics(evaluation: Evaluation): Partial<Record<MetricName, number | null>> {
	if (evaluation.task === "classification") {
		const { accuracy, precision, recall, f1, auc } = evaluation;
		return { accuracy, precision, recall, f1, auc };
	}
	const { mse, mae, r2 } = evaluation;
	return { mse, mae, r2 };
}

type Targets = ReturnType<typeof datasetTargets>;

/** The worker's request: the config from the spec and the split's features and targets. */
function buildTrainRequest(
	input: TrainingJobInput,
	targets: Targets,
	split: DatasetSplit,
	preprocessing: Preprocessing,
	classes: string[] | null,
	testFeatures: Float32Array,
): TrainRequest {
	const { dataset, spec } = input;
	return {
		config: {
			task: spec.task,
			outputs: classes?.length ?? 1,
			layers: spec.model.layers,
			optimizer: spec.optimizer,
			learningRate: spec.learningRate,
			epochs: spec.epochs,
			batchSize: spec.batchSize,
			earlyStopping: spec.earlyStopping,
			checkpointEvery: spec.checkpointEvery,
			seed: spec.seed,
		},
		train: trainingData(preprocessing, dataset, split.train, targetsOf(targets, split.train)),
		validation:
			split.validation.length > 0
				? trainingData(
						preprocessing,
						dataset,
						split.validation,
						targetsOf(targets, split.validation),
					)
				: null,
		predict:
			split.test.length > 0 && !(input.parallel && input.parallel.rank > 0)
				? { x: testFeatures, rows: split.test.length }
				: null,
		resumeFrom: input.resumeFrom ?? null,
		backend: input.backend ?? "auto",
		gpu: spec.resources.gpu,
		...(input.parallel ? { parallel: input.parallel } : {}),
		...(input.parallel && input.parallel.rank > 0 ? { exportTfjs: false } : {}),
	};
}

/** The test split's metrics from the run's predictions; null without test rows. */
function evaluateTestSplit(
	spec: JobSpec,
	targets: Targets,
	split: DatasetSplit,
	classes: string[] | null,
	training: TrainResult,
): Evaluation | null {
	if (!training.predictions || split.test.length === 0) return null;
	const truth = targetsOf(targets, split.test);
	return spec.task === "classification"
		? {
				task: "classification",
				rows: split.test.length,
				...classificationMetrics(truth, training.predictions, classes?.length ?? 0),
			}
		: {
				task: "regression",
				rows: split.test.length,
				...regressionMetrics(truth, training.predictions),
			};
}

/** The version's lineage: the job, the dataset, the seed and the hyperparameters as run. */
function trainingLineage(
	input: TrainingJobInput,
	preprocessing: Preprocessing,
	training: TrainResult,
): Lineage {
	const { dataset, spec } = input;
	return {
		...(input.jobId ? { trainingJob: input.jobId } : {}),
		datasetSha256: dataset.sha256,
		seed: spec.seed,
		hyperparameters: {
			task: spec.task,
			labelColumn: spec.labelColumn,
			features: preprocessing.features.map(f => f.name),
			layers: spec.model.layers,
			preset: spec.model.preset,
			optimizer: spec.optimizer,
			learningRate: spec.learningRate,
			epochs: spec.epochs,
			epochsRun: training.epochs,
			bestEpoch: training.bestEpoch,
			batchSize: spec.batchSize,
			earlyStopping: spec.earlyStopping,
			split: spec.split,
			...(input.parallel && input.parallel.size > 1 ? { workers: input.parallel.size } : {}),
			backend: training.backend.name,
			device: training.backend.device,
		},
	};
}

/** Runs the job; see the module comment. */
export async function runTrainingJob(input: TrainingJobInput): Promise<TrainingOutcome> {
	const { dataset, spec } = input;
	const targets = datasetTargets(dataset, spec.labelColumn, spec.task);
	const split: DatasetSplit = splitDataset(dataset, {
		fractions: spec.split,
		seed: spec.seed,
		stratifyBy: spec.task === "classification" ? spec.labelColumn : null,
	});
	const preprocessing = fitPreprocessing(dataset, {
		labelColumn: spec.labelColumn,
		features: spec.features,
		trainRows: split.train,
	});
	const classes = targets.task === "classification" ? targets.classes : null;
	const testFeatures = preprocessing.transformDataset(dataset, split.test);
	const request = buildTrainRequest(input, targets, split, preprocessing, classes, testFeatures);
	const train = input.train ?? trainInWorker;
	const training = await train(request, input.callbacks ?? {});

	const evaluation = evaluateTestSplit(spec, targets, split, classes, training);
	const values = evaluation ? evaluationMetrics(evaluation) : {};
	const acceptance = checkAcceptance(spec.acceptance, values);
	const hasThresholds = Object.keys(spec.acceptance).length > 0;
	const metrics: Metric[] = Object.entries(values)
		.filter((entry): entry is [string, number] => typeof entry[1] === "number")
		.map(([name, value]) => ({
			name,
			value,
			dataset: { sha256: dataset.sha256, split: "test" },
		}));
	const lineage = trainingLineage(input, preprocessing, training);
	const onnx = exportOnnx(training.network, {
		docString: `Dense network trained by modelfleet on dataset sha256:${dataset.sha256}.`,
		metadata: {
			datasetSha256: dataset.sha256,
			seed: String(spec.seed),
			...(input.jobId ? { trainingJob: input.jobId } : {}),
		},
	});
	return {
		split: {
			train: split.train.length,
			validation: split.validation.length,
			test: split.test.length,
		},
		preprocessing,
		evaluation,
		acceptance,
		state: hasThresholds && acceptance.passed ? "Validated" : "Trained",
		version: { ...servingSpec(preprocessing, spec.task, classes), metrics, lineage },
		onnx,
		tfjs: training.tfjs,
		training,
		test: {
			rows: split.test,
			features: testFeatures,
			predictions: training.predictions,
			truth: targetsOf(targets, split.test),
		},
	};
}
