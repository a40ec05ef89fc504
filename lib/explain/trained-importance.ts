/**
 * A trained version's global importance: permutation importance (permutation-importance.ts)
 * on the job's test split, through the trained network (a plain forward pass on the trainer,
 * no runtime needed), by accuracy for a classifier and RMSE for a regression. It runs on the
 * trainer's main thread, in slices with turns of the event loop between them: it is seconds of
 * work for a large network, and the trainer must keep sending heartbeats meanwhile. A categorical
 * feature's one-hot columns are shuffled together, so each feature of the dataset gets one
 * score. Seeded by the job's seed; kept as the version's `details.importance`.
 */
import { forwardNetworkInTurns } from "../training/network-forward";
import type { TrainingOutcome } from "../training/training-run";
import {
	permutationImportance,
	predictedClasses,
	type PermutationImportanceResult,
} from "./permutation-importance";

/** Permutation importance as a version keeps it (`details.importance`). */
export type VersionImportance = PermutationImportanceResult & {
	/** The rows it was measured on: the training dataset's test split, or a named dataset. */
	dataset: { sha256: string; split?: "test"; ref?: string };
	computedAt: string;
};

/** Shuffles per feature of the test split's permutation importance. */
export const TRAINED_IMPORTANCE_REPEATS = 5;

/** See the module comment; null when the split has no test rows. */
export async function trainedImportance(
	outcome: TrainingOutcome,
	options: { seed: number; datasetSha256: string },
): Promise<VersionImportance | null> {
	const { test, preprocessing, training } = outcome;
	const rows = test.rows.length;
	if (rows === 0) return null;
	const classifier = training.network.task === "classification";
	const result = await permutationImportance({
		x: test.features,
		rows,
		width: preprocessing.outputWidth,
		truth: test.truth,
		metric: classifier ? "accuracy" : "rmse",
		features: preprocessing.features.map((f, c) => ({
			name: f.name,
			columns: preprocessing.columnsOf(c),
		})),
		predict: async (x, n) => {
			const out = await forwardNetworkInTurns(training.network, x, n);
			return classifier ? predictedClasses(out, n) : out;
		},
		repeats: TRAINED_IMPORTANCE_REPEATS,
		seed: options.seed,
	});
	return {
		...result,
		dataset: { sha256: options.datasetSha256, split: "test" },
		computedAt: new Date().toISOString(),
	};
}
