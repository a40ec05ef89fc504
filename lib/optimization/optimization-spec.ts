/**
 * An optimization job as the training queue stores it: a job spec with `kind: "optimize"`,
 * so optimization jobs share the queue's placement, progress, cancel and rerun-after-a-lost-
 * node with training jobs. It carries everything the trainer needs without asking back: the
 * recipe and its checked parameters, the source version (file, schema, pipeline, labels), how
 * the source's training job split and pre-processed its dataset (so the evaluation sees the
 * same test rows), and the acceptance thresholds.
 */
import { InvalidInputError } from "../errors";
import type { SplitFractions } from "../datasets/dataset-split";
import type { ModelSchema } from "../model-spec/model-schema";
import type { PipelineSpec } from "../model-spec/version-spec";
import type { RecipeFileFormat, RecipeKind } from "./recipe";
import { recipeFor } from "./recipes";
import { numberParam, paramsObject } from "./recipe-params";

export interface OptimizationAcceptance {
	/** Accuracy points (0–100) the optimized version may lose against its source. Default 1. */
	maxAccuracyDrop: number;
	/** Share of rows whose argmax must match the source's. Default 0.98. */
	minArgmaxAgreement: number;
	/** Largest relative output difference allowed; null: not checked. Default null. */
	maxRelativeDifference: number | null;
}

export const ACCEPTANCE_DEFAULTS: OptimizationAcceptance = Object.freeze({
	maxAccuracyDrop: 1,
	minArgmaxAgreement: 0.98,
	maxRelativeDifference: null,
});

export interface OptimizationSource {
	version: string;
	format: RecipeFileFormat;
	artifact: { sha256: string; size: number };
	schema: ModelSchema;
	pipeline: PipelineSpec;
	labels: string[] | null;
}

/** How the source's training job made its test split: the evaluation rebuilds it. */
export interface EvaluationSplit {
	trainingJob: string;
	labelColumn: string;
	features: string[] | null;
	task: "classification" | "regression";
	split: SplitFractions;
	seed: number;
}

/**
 * A dataset named in the request (dataset-evaluation.ts): every row is evaluated (and, for
 * int8-static and prune, calibrates or fine-tunes), fed through the source's own inputs.
 */
export interface EvaluationDataset {
	/** `name@version` of the dataset, as the registry resolved the request's `dataset`. */
	dataset: string;
	labelColumn: string;
	/** The columns of the model's first input, in its order. */
	features: string[];
}

export type EvaluationSource = EvaluationSplit | EvaluationDataset;

/** Whether the evaluation is on a named dataset rather than the source's training split. */
export function isDatasetEvaluation(evaluation: EvaluationSource): evaluation is EvaluationDataset {
	return "dataset" in evaluation;
}

export interface OptimizationSpec {
	kind: "optimize";
	recipe: RecipeKind;
	params: unknown;
	source: OptimizationSource;
	evaluation: EvaluationSource;
	acceptance: OptimizationAcceptance;
	/** As a training spec's, for the queue and metering. */
	priority: number;
	resources: { gpu: boolean; memoryBytes: null };
	deadlineMs: null;
}

/** Whether a stored job spec is an optimization job's. */
export function isOptimizationSpec(spec: Record<string, unknown>): boolean {
	return spec.kind === "optimize";
}

/** The request's `acceptance` object → thresholds with defaults. */
export function validateAcceptance(raw: unknown): OptimizationAcceptance {
	const fields = ["maxAccuracyDrop", "minArgmaxAgreement", "maxRelativeDifference"];
	const given = paramsObject(raw, "acceptance", fields);
	const field = (name: string, range: { min: number; max: number }, fallback: number) => {
		try {
			return numberParam(given[name], name, range, fallback);
		} catch {
			throw new InvalidInputError(
				`acceptance.${name} must be a number from ${range.min} to ${range.max}`,
				{ field: `acceptance.${name}` },
			);
		}
	};
	return {
		maxAccuracyDrop: field("maxAccuracyDrop", { min: 0, max: 100 }, 1),
		minArgmaxAgreement: field("minArgmaxAgreement", { min: 0, max: 1 }, 0.98),
		maxRelativeDifference:
			given.maxRelativeDifference === undefined
				? null
				: field("maxRelativeDifference", { min: 0, max: 1e9 }, 0),
	};
}

export interface OptimizationRequest {
	recipe: unknown;
	params?: unknown;
	acceptance?: unknown;
	priority?: unknown;
	/** A dataset to evaluate on (name, name@N, id or sha256) instead of the training split. */
	dataset?: string;
	/** With `dataset`: the label column (default: the dataset's own). */
	labelColumn?: string;
	/** With `dataset`: the columns of the model's input, in order. */
	features?: string[];
}

/**
 * The job spec for a request, once the scheduler has the source version and its training job.
 * Throws InvalidInputError (400) for a bad recipe, params or thresholds, or a source the
 * recipe cannot read.
 */
export function optimizationSpec(
	request: OptimizationRequest,
	source: OptimizationSource,
	evaluation: EvaluationSource,
): OptimizationSpec {
	const recipe = recipeFor(request.recipe);
	const params = recipe.validateParams(request.params);
	if (!recipe.sourceFormats.includes(source.format))
		throw new InvalidInputError(
			`recipe '${recipe.kind}' reads ${recipe.sourceFormats.join(" or ")} models; version ${source.version} is ${source.format}`,
			{ field: "recipe" },
		);
	return {
		kind: "optimize",
		recipe: recipe.kind,
		params,
		source,
		evaluation,
		acceptance: validateAcceptance(request.acceptance),
		priority: numberParam(
			request.priority,
			"priority",
			{ min: -1e6, max: 1e6, integer: true },
			0,
		),
		resources: { gpu: false, memoryBytes: null },
		deadlineMs: null,
	};
}
