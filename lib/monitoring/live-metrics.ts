/**
 * Live accuracy from ground truth: the metrics of a window of predictions whose true labels
 * (or values) came back, and whether they fell below the version's test metrics by more than
 * a margin. Classification: accuracy and macro-averaged precision, recall and F1 over the
 * classes seen (in truth or prediction), as scikit-learn's `average="macro"` with
 * `zero_division=0`. Regression: MAE and RMSE.
 */

export interface LabeledPrediction {
	/** What the model answered: a class (as text) or a value. */
	predicted: string | number;
	/** What it should have been. */
	truth: string | number;
}

export type LiveMetrics = Record<string, number>;

/** Classification metrics; labels compared as text (1 and "1" are one class). */
export function classificationMetrics(items: readonly LabeledPrediction[]): LiveMetrics {
	const classes = new Set<string>();
	const truePositive = new Map<string, number>();
	const predictedCount = new Map<string, number>();
	const actualCount = new Map<string, number>();
	let correct = 0;
	for (const { predicted, truth } of items) {
		const p = String(predicted);
		const t = String(truth);
		classes.add(p);
		classes.add(t);
		predictedCount.set(p, (predictedCount.get(p) ?? 0) + 1);
		actualCount.set(t, (actualCount.get(t) ?? 0) + 1);
		if (p === t) {
			correct++;
			truePositive.set(t, (truePositive.get(t) ?? 0) + 1);
		}
	}
	let precision = 0;
	let recall = 0;
	let f1 = 0;
	for (const c of classes) {
		const tp = truePositive.get(c) ?? 0;
		const pc = predictedCount.get(c) ?? 0;
		const ac = actualCount.get(c) ?? 0;
		const p = pc > 0 ? tp / pc : 0;
		const r = ac > 0 ? tp / ac : 0;
		precision += p;
		recall += r;
		f1 += p + r > 0 ? (2 * p * r) / (p + r) : 0;
	}
	const k = Math.max(1, classes.size);
	const n = items.length;
	return {
		accuracy: n > 0 ? correct / n : 0,
		precision: precision / k,
		recall: recall / k,
		f1: f1 / k,
	};
}

/** Regression metrics (non-numeric pairs are left out). */
export function regressionMetrics(items: readonly LabeledPrediction[]): LiveMetrics {
	let n = 0;
	let absolute = 0;
	let squared = 0;
	for (const { predicted, truth } of items) {
		const p = Number(predicted);
		const t = Number(truth);
		if (!Number.isFinite(p) || !Number.isFinite(t)) continue;
		n++;
		absolute += Math.abs(p - t);
		squared += (p - t) * (p - t);
	}
	return n === 0 ? { mae: 0, rmse: 0 } : { mae: absolute / n, rmse: Math.sqrt(squared / n) };
}

/** Metrics where lower is better. */
const LOWER_IS_BETTER = new Set(["mae", "rmse", "mse", "loss"]);

export interface MetricComparison {
	name: string;
	live: number;
	/** The version's test metric of that name. */
	reference: number;
	/** How much worse live is (positive: worse), relative to the reference for errors. */
	drop: number;
	degraded: boolean;
}

/**
 * Live metrics against the version's test metrics of the same name. A score (accuracy, F1…)
 * degrades when it falls more than `margin` below (absolute: 0.05 is five points); an error
 * (MAE, RMSE) when it rises more than `margin` of the reference (relative: 0.05 is 5 %).
 */
export function compareWithReference(
	live: LiveMetrics,
	reference: readonly { name: string; value: number }[],
	margin: number,
): MetricComparison[] {
	const out: MetricComparison[] = [];
	for (const [name, value] of Object.entries(live)) {
		const ref = reference.find(m => m.name === name);
		if (!ref || !Number.isFinite(ref.value)) continue;
		const lower = LOWER_IS_BETTER.has(name);
		const drop = lower
			? ref.value > 0
				? (value - ref.value) / ref.value
				: value - ref.value
			: ref.value - value;
		out.push({ name, live: value, reference: ref.value, drop, degraded: drop > margin });
	}
	return out;
}
