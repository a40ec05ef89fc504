/**
 * The rows the "prune" recipe fine-tunes on: the source version's TRAIN split (lineage-split.ts)
 * through the same pre-processing the source was trained with, labelled with its classes in
 * the version's order. The pre-processing is fitted again on those train rows, as the trainer
 * did (lib/training/preprocessing.ts), and must come out as the version's own `pipeline.pre`
 * step for step, and the classes as its `labels`: otherwise the network would be fine-tuned
 * on features or classes it was not trained on, and the version is refused.
 *
 *     const dataset = fineTuneDataset(parsed, version);   // → RecipeRunInput.dataset for "prune"
 */
import { isDeepStrictEqual } from "node:util";
import type { Dataset } from "../datasets/dataset";
import { InvalidInputError } from "../errors";
import type { Lineage, PipelineSpec } from "../model-spec/version-spec";
import { fitPreprocessing } from "../training/preprocessing";
import { datasetTargets } from "../training/targets";
import { lineageSplit } from "./lineage-split";
import type { RecipeDataset } from "./recipe";

/** What of the source version the rows depend on. */
export interface FineTuneSource {
	lineage?: Lineage;
	pipeline?: PipelineSpec | null;
	labels?: readonly string[] | null;
}

function refuse(message: string): never {
	throw new InvalidInputError(message, { field: "version" });
}

/** See the module comment. */
export function fineTuneDataset(dataset: Dataset, version: FineTuneSource): RecipeDataset {
	const split = lineageSplit(dataset, version.lineage);
	const hp = version.lineage?.hyperparameters ?? {};
	const labelColumn = hp.labelColumn as string;
	const preprocessing = fitPreprocessing(dataset, {
		labelColumn,
		features: Array.isArray(hp.features) ? (hp.features as string[]) : null,
		trainRows: split.train,
	});
	if (!isDeepStrictEqual(preprocessing.pipelineSteps, version.pipeline?.pre ?? []))
		refuse(
			"The version's pre-processing is not the one its training rows give (its pipeline was changed after training); it cannot be fine-tuned with the same inputs.",
		);
	const targets = datasetTargets(dataset, labelColumn, "classification");
	if (targets.task !== "classification" || !isDeepStrictEqual(targets.classes, version.labels))
		refuse(
			"The dataset's classes are not the version's labels in the same order; fine-tuning would teach other classes.",
		);
	return {
		features: preprocessing.transformDataset(dataset, split.train),
		rows: split.train.length,
		width: preprocessing.outputWidth,
		labels: Int32Array.from(split.train, row => targets.indices[row]),
	};
}
