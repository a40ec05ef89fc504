/**
 * The rows an optimization is evaluated and calibrated on: the source version's training job
 * split its dataset (seeded, stratified for classification) and fitted its pre-processing on
 * the training rows; doing the same again gives the very test rows and features the source was
 * scored on, and training rows for calibration (never the test rows).
 */
import { splitDataset } from "../datasets/dataset-split";
import type { Dataset } from "../datasets/dataset";
import { fitPreprocessing } from "../training/preprocessing";
import { datasetTargets } from "../training/targets";
import type { EvaluationSplit } from "./optimization-spec";
import type { RecipeDataset } from "./recipe";

export interface EvaluationRows {
	test: RecipeDataset;
	/** Training rows, for calibration. */
	train: RecipeDataset;
}

export function evaluationRows(dataset: Dataset, split: EvaluationSplit): EvaluationRows {
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
