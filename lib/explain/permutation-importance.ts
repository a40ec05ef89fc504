/**
 * Permutation importance (Breiman 2001; scikit-learn's `permutation_importance`): how much a
 * model's score on labelled rows drops when one feature's values are shuffled across the rows,
 * which breaks the feature's link to the target while keeping its distribution. Each feature is
 * shuffled `repeats` times with a seeded generator (the same input gives the same answer); its
 * importance is the mean drop and `std` the drops' standard deviation.
 *
 * The score is the version's metric: accuracy for classifiers (higher is better: drop =
 * baseline − shuffled), RMSE or MAE for regression (lower is better: drop = shuffled −
 * baseline), so a larger importance always means the model leans on the feature more, and a
 * feature the model ignores scores exactly 0. A feature may span several columns (a one-hot
 * block): its columns are shuffled together, with the same row order. Pure but for `predict`.
 *
 *     const result = await permutationImportance({ x, rows, width, truth, metric: "rmse",
 *       features: [{ name: "a", columns: [0] }, { name: "b", columns: [1] }],
 *       predict: async (x, rows) => … one prediction (class index or value) per row });
 */
import { SeededRandom } from "../datasets/seeded-random";

export const IMPORTANCE_METRICS = ["accuracy", "rmse", "mae"] as const;
export type ImportanceMetric = (typeof IMPORTANCE_METRICS)[number];

/** Row-major cells that can be copied and written: typed arrays, or arrays of any cell. */
export interface RowMajor<E> {
	readonly length: number;
	[index: number]: E;
	slice(): RowMajor<E>;
}

export interface ImportanceFeature {
	name: string;
	/** The columns that carry the feature (one, or a one-hot block). */
	columns: readonly number[];
}

export interface PermutationImportanceInput<E> {
	/** The rows, row-major [rows, width], as the model takes them. */
	x: RowMajor<E>;
	rows: number;
	width: number;
	/** Per row: the true class index (accuracy) or value (rmse, mae). */
	truth: ArrayLike<number>;
	metric: ImportanceMetric;
	/** Default: every column its own feature, named f0, f1, … */
	features?: readonly ImportanceFeature[];
	/** One prediction per row (a class index, or a value), for `rows` rows of `x`'s width. */
	predict(x: RowMajor<E>, rows: number): Promise<ArrayLike<number>>;
	/** Shuffles per feature; default 5. */
	repeats?: number;
	/** Default 0. */
	seed?: number;
	/** Called between features (e.g. to check a deadline). */
	checkpoint?(): void;
}

export interface FeatureImportance {
	name: string;
	/** Mean score drop over the repeats. */
	importance: number;
	/** Standard deviation of the drops (0 with one repeat). */
	std: number;
	/** The drop of every repeat. */
	drops: number[];
}

export interface PermutationImportanceResult {
	method: "permutation";
	metric: ImportanceMetric;
	/** Whether a higher score is better (accuracy); drops are signed so that larger = more important. */
	higherIsBetter: boolean;
	/** The score on the rows as they are. */
	baseline: number;
	rows: number;
	repeats: number;
	seed: number;
	/** In the input's feature order. */
	features: FeatureImportance[];
	/** Feature names, most important first (ties in feature order). */
	ranking: string[];
}

/** The score of `predicted` against `truth` under `metric`. */
export function importanceScore(
	metric: ImportanceMetric,
	truth: ArrayLike<number>,
	predicted: ArrayLike<number>,
): number {
	const n = truth.length;
	if (n === 0) return Number.NaN;
	let sum = 0;
	for (let i = 0; i < n; i++) {
		const d = predicted[i] - truth[i];
		if (metric === "accuracy") sum += d === 0 ? 1 : 0;
		else if (metric === "mae") sum += Math.abs(d);
		else sum += d * d;
	}
	return metric === "rmse" ? Math.sqrt(sum / n) : sum / n;
}

function mean(values: readonly number[]): number {
	return values.reduce((a, b) => a + b, 0) / values.length;
}

function std(values: readonly number[]): number {
	if (values.length < 2) return 0;
	const m = mean(values);
	return Math.sqrt(values.reduce((a, v) => a + (v - m) ** 2, 0) / (values.length - 1));
}

/** Every `repeats` shuffle of one feature's columns, stacked: [repeats · rows, width]. */
function shuffledCopies<E>(
	input: PermutationImportanceInput<E>,
	columns: readonly number[],
	random: SeededRandom,
	repeats: number,
): RowMajor<E> {
	const { x, rows, width } = input;
	const copies: RowMajor<E>[] = [];
	for (let r = 0; r < repeats; r++) {
		const order = random.permutation(rows);
		const copy = x.slice();
		for (let row = 0; row < rows; row++)
			for (const c of columns) copy[row * width + c] = x[order[row] * width + c];
		copies.push(copy);
	}
	if (copies.length === 1) return copies[0];
	// Stacked into one batch through a copy of the right kind: concatenation by element.
	const stacked = stack(x, copies, rows * width);
	return stacked;
}

function stack<E>(like: RowMajor<E>, parts: RowMajor<E>[], partLength: number): RowMajor<E> {
	const Ctor = (like as unknown as { constructor: new (n: number) => RowMajor<E> }).constructor;
	const out: RowMajor<E> = Array.isArray(like)
		? (new Array<E>(parts.length * partLength) as unknown as RowMajor<E>)
		: new Ctor(parts.length * partLength);
	parts.forEach((part, p) => {
		const at = p * partLength;
		for (let i = 0; i < partLength; i++) out[at + i] = part[i];
	});
	return out;
}

/** See the module comment. */
export async function permutationImportance<E>(
	input: PermutationImportanceInput<E>,
): Promise<PermutationImportanceResult> {
	const { rows, width, truth, metric } = input;
	const repeats = input.repeats ?? 5;
	const seed = input.seed ?? 0;
	if (!Number.isInteger(repeats) || repeats < 1) throw new RangeError("repeats must be ≥ 1");
	if (truth.length !== rows) throw new RangeError(`${truth.length} labels for ${rows} rows`);
	if (input.x.length !== rows * width)
		throw new RangeError(`${input.x.length} cells for ${rows} rows of ${width}`);
	const features =
		input.features ??
		Array.from({ length: width }, (_, c) => ({ name: `f${c}`, columns: [c] }));
	const higherIsBetter = metric === "accuracy";
	const baseline = importanceScore(metric, truth, await input.predict(input.x, rows));
	const random = new SeededRandom(seed);
	const results: FeatureImportance[] = [];
	for (const feature of features) {
		input.checkpoint?.();
		const batch = shuffledCopies(input, feature.columns, random, repeats);
		const predicted = await input.predict(batch, rows * repeats);
		const drops: number[] = [];
		for (let r = 0; r < repeats; r++) {
			const part = Array.prototype.slice.call(
				predicted,
				r * rows,
				(r + 1) * rows,
			) as number[];
			const score = importanceScore(metric, truth, part);
			drops.push(higherIsBetter ? baseline - score : score - baseline);
		}
		results.push({ name: feature.name, importance: mean(drops), std: std(drops), drops });
	}
	const ranking = results
		.map((f, i) => ({ f, i }))
		.sort((a, b) => b.f.importance - a.f.importance || a.i - b.i)
		.map(({ f }) => f.name);
	return {
		method: "permutation",
		metric,
		higherIsBetter,
		baseline,
		rows,
		repeats,
		seed,
		features: results,
		ranking,
	};
}

/** Predicted class per row from scores [rows, classes] (argmax), or [rows] probabilities of class 1. */
export function predictedClasses(scores: ArrayLike<number>, rows: number): Int32Array {
	const out = new Int32Array(rows);
	const width = rows === 0 ? 1 : scores.length / rows;
	for (let r = 0; r < rows; r++) {
		if (width === 1) {
			out[r] = scores[r] >= 0.5 ? 1 : 0;
			continue;
		}
		let best = 0;
		for (let c = 1; c < width; c++)
			if (scores[r * width + c] > scores[r * width + best]) best = c;
		out[r] = best;
	}
	return out;
}
