/**
 * The split a trained version was trained on, made again from its lineage (lib/training/
 * training-run.ts records the dataset, the seed, the split fractions, the label column and the
 * task): the same rows, fractions and seed give the same split, so the pruning recipe can
 * fine-tune on exactly the TRAIN rows the source learnt from and the evaluation scores the TEST
 * rows it never saw.
 *
 *     const split = lineageSplit(dataset, version.lineage);
 *     // split.train → through the version's pipeline → RecipeDataset for "prune"
 */
import type { Dataset } from "../datasets/dataset";
import { splitDataset, type DatasetSplit, type SplitFractions } from "../datasets/dataset-split";
import { InvalidInputError } from "../errors";
import type { Lineage } from "../model-spec/version-spec";

/** The training job's split; InvalidInputError when the lineage is not a training job's. */
export function lineageSplit(dataset: Dataset, lineage: Lineage | undefined): DatasetSplit {
	const hp = lineage?.hyperparameters ?? {};
	const split = hp.split as SplitFractions | undefined;
	const labelColumn = hp.labelColumn;
	if (
		lineage?.seed === undefined ||
		typeof split?.train !== "number" ||
		typeof labelColumn !== "string"
	)
		throw new InvalidInputError(
			"The source version was not trained by the fleet (its lineage has no seed, split and label column), so its training rows cannot be found.",
			{ field: "lineage" },
		);
	if (lineage.datasetSha256 !== undefined && lineage.datasetSha256 !== dataset.sha256)
		throw new InvalidInputError(
			`The dataset given (sha256 ${dataset.sha256}) is not the one the version was trained on (sha256 ${lineage.datasetSha256}).`,
			{ field: "dataset" },
		);
	return splitDataset(dataset, {
		fractions: split,
		seed: lineage.seed,
		stratifyBy: hp.task === "regression" ? null : labelColumn,
	});
}
