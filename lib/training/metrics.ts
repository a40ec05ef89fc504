/**
 * Evaluation metrics on held-out data, computed as scikit-learn computes them:
 * - classification: accuracy; precision, recall and F1 macro-averaged over the classes that
 *   occur in the true or the predicted labels (a class never predicted has precision 0);
 *   ROC AUC from the scores (binary: the positive class's; multiclass: one-vs-rest per class,
 *   macro-averaged), tied scores sharing their rank; the confusion matrix (rows: true class,
 *   columns: predicted class);
 * - regression: MSE, MAE, R² (1 - SSres/SStot; for constant targets 1 when fitted exactly,
 *   else 0, as scikit-learn's force_finite).
 */

export interface ClassificationMetrics {
	accuracy: number;
	precision: number;
	recall: number;
	f1: number;
	/** null when no class has both positives and negatives among the rows. */
	auc: number | null;
	/** [true class][predicted class] counts. */
	confusionMatrix: number[][];
	/** Rows per true class. */
	support: number[];
}

export interface RegressionMetrics {
	mse: number;
	mae: number;
	r2: number;
}

/** The predicted class of each row: the index of its highest score (the first on ties). */
export function argmaxRows(scores: ArrayLike<number>, classes: number): Int32Array {
	const rows = scores.length / classes;
	const out = new Int32Array(rows);
	for (let r = 0; r < rows; r++) {
		let best = 0;
		for (let c = 1; c < classes; c++)
			if (scores[r * classes + c] > scores[r * classes + best]) best = c;
		out[r] = best;
	}
	return out;
}

export function confusionMatrix(
	truth: ArrayLike<number>,
	predicted: ArrayLike<number>,
	classes: number,
): number[][] {
	const matrix = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
	for (let i = 0; i < truth.length; i++) matrix[truth[i]][predicted[i]]++;
	return matrix;
}

/** Macro precision, recall and F1 from a confusion matrix; see the module comment. */
export function macroScores(matrix: readonly (readonly number[])[]): {
	precision: number;
	recall: number;
	f1: number;
} {
	const k = matrix.length;
	let precision = 0;
	let recall = 0;
	let f1 = 0;
	let present = 0;
	for (let c = 0; c < k; c++) {
		const tp = matrix[c][c];
		let actual = 0;
		let predicted = 0;
		for (let j = 0; j < k; j++) {
			actual += matrix[c][j];
			predicted += matrix[j][c];
		}
		if (actual === 0 && predicted === 0) continue;
		present++;
		const p = predicted === 0 ? 0 : tp / predicted;
		const r = actual === 0 ? 0 : tp / actual;
		precision += p;
		recall += r;
		f1 += p + r === 0 ? 0 : (2 * p * r) / (p + r);
	}
	if (present === 0) return { precision: 0, recall: 0, f1: 0 };
	return { precision: precision / present, recall: recall / present, f1: f1 / present };
}

/**
 * ROC AUC of scores for a binary truth: the probability that a random positive scores above a
 * random negative (ties count half), by the rank-sum (Mann–Whitney) formula. null when the
 * truth has no positive or no negative.
 */
export function rocAuc(positive: ArrayLike<boolean>, scores: ArrayLike<number>): number | null {
	const n = scores.length;
	const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
	let positives = 0;
	let rankSum = 0;
	for (let i = 0; i < n;) {
		let j = i;
		while (j + 1 < n && scores[order[j + 1]] === scores[order[i]]) j++;
		const rank = (i + j) / 2 + 1; // ranks are 1-based; tied scores share the mean rank
		for (let t = i; t <= j; t++) {
			if (positive[order[t]]) {
				positives++;
				rankSum += rank;
			}
		}
		i = j + 1;
	}
	const negatives = n - positives;
	if (positives === 0 || negatives === 0) return null;
	return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** Binary: AUC of class 1's scores. Multiclass: one-vs-rest AUC per class, macro average. */
export function multiclassAuc(
	truth: ArrayLike<number>,
	scores: ArrayLike<number>,
	classes: number,
): number | null {
	const rows = truth.length;
	const column = (c: number) =>
		Float64Array.from({ length: rows }, (_, r) => scores[r * classes + c]);
	const isClass = (c: number) => Array.from({ length: rows }, (_, r) => truth[r] === c);
	if (classes === 2) return rocAuc(isClass(1), column(1));
	const aucs: number[] = [];
	for (let c = 0; c < classes; c++) {
		const auc = rocAuc(isClass(c), column(c));
		if (auc !== null) aucs.push(auc);
	}
	return aucs.length ? aucs.reduce((a, b) => a + b, 0) / aucs.length : null;
}

/** All classification metrics from the true classes and the rows' class scores (probabilities). */
export function classificationMetrics(
	truth: ArrayLike<number>,
	scores: ArrayLike<number>,
	classes: number,
): ClassificationMetrics {
	const predicted = argmaxRows(scores, classes);
	const matrix = confusionMatrix(truth, predicted, classes);
	let correct = 0;
	for (let c = 0; c < classes; c++) correct += matrix[c][c];
	return {
		accuracy: truth.length ? correct / truth.length : 0,
		...macroScores(matrix),
		auc: multiclassAuc(truth, scores, classes),
		confusionMatrix: matrix,
		support: matrix.map(row => row.reduce((a, b) => a + b, 0)),
	};
}

export function regressionMetrics(
	truth: ArrayLike<number>,
	predicted: ArrayLike<number>,
): RegressionMetrics {
	const n = truth.length;
	let squares = 0;
	let absolute = 0;
	let sum = 0;
	for (let i = 0; i < n; i++) {
		const error = predicted[i] - truth[i];
		squares += error * error;
		absolute += Math.abs(error);
		sum += truth[i];
	}
	const mean = sum / n;
	let total = 0;
	for (let i = 0; i < n; i++) total += (truth[i] - mean) ** 2;
	const r2 = total > 0 ? 1 - squares / total : squares === 0 ? 1 : 0;
	return { mse: squares / n, mae: absolute / n, r2 };
}
