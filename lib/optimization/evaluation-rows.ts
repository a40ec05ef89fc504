/**
 * The rows an optimization is evaluated and calibrated on: the source version's training job
 * split its dataset (seeded, stratified for classification) and fitted its pre-processing on
 * the training rows; doing the same again gives the very test rows and features the source was
 * scored on, and training rows for calibration and fine-tuning (never the test rows).
 *
 * The refit must come out as the version's own `pipeline.pre`, step for step, and the classes
 * as its `labels`: otherwise the version was changed after training (its pipeline edited, its
 * labels reordered) and would be calibrated, fine-tuned and scored on features or classes it
 * was not trained on — refused with a 400 naming the version.
 *
 *     const rows = evaluationRows(parsed, spec.evaluation, spec.source);
 *     // rows.train → int8-static calibration, prune fine-tuning; rows.test → the evaluation
 */
import { isDeepStrictEqual } from "node:util";
import { splitDataset } from "../datasets/dataset-split";
import type { Dataset } from "../datasets/dataset";
import { InvalidInputError } from "../errors";
import type { PipelineSpec } from "../model-spec/version-spec";
import { fitPreprocessing } from "../training/preprocessing";
import { datasetTargets } from "../training/targets";
import type { EvaluationSplit } from "./optimization-spec";
import type { RecipeDataset } from "./recipe";

export interface EvaluationRows {
	test: RecipeDataset;
	/** Training rows, for calibration. */
	train: RecipeDataset;
}

/** What of the source version the rows must match. */
export interface EvaluationRowsSource {
	pipeline: PipelineSpec;
	labels: readonly string[] | null;
}

function refuse(message: string): never {
	throw new InvalidInputError(message, { field: "version" });
}

/** See the module comment. */
export function evaluationRows(
	dataset: Dataset,
	split: EvaluationSplit,
	source: EvaluationRowsSource,
): EvaluationRows {
	const targets = datasetTargets(dataset, split.labelColumn, split.task);
	const parts = splitDataset(dataset, {
		fractions: split.split,
		seed: split.seed,
		stratifyBy: split.task === "classification" ? split.labelColumn : null,
	});
	const preprocessing = fitPreprocessing(dataset, {
		labelColumn: split.labelColumn,
		features: split.features,
		trainRows: parts.train,
	});
	if (!isDeepStrictEqual(preprocessing.pipelineSteps, source.pipeline.pre))
		refuse(
			"The version's pre-processing is not the one its training rows give (its pipeline was changed after training); it cannot be evaluated, calibrated or fine-tuned with the same inputs.",
		);
	if (targets.task === "classification" && !isDeepStrictEqual(targets.classes, source.labels))
		refuse(
			"The dataset's classes are not the version's labels in the same order (its labels were changed after training); the rows would be scored against other classes.",
		);
	const width = preprocessing.outputWidth;
	const rows = (indices: Uint32Array): RecipeDataset => ({
		features: preprocessing.transformDataset(dataset, indices),
		rows: indices.length,
		width,
		labels:
			targets.task === "classification"
				? Int32Array.from(indices, r => targets.indices[r])
				: null,
	});
	return { test: rows(parts.test), train: rows(parts.train) };
}
