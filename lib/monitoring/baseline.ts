/**
 * What drift is measured against: per feature the baseline's distribution — numeric features
 * as quantiles (101 points, from the dataset report; a report made before quantiles were kept
 * gives its mean and std, and a normal distribution stands in), categorical ones as shares per
 * category — and the same for the prediction (the label column of the dataset).
 */
import type { ColumnReport, DatasetReport } from "../datasets/dataset-report";

export interface NumericBaseline {
	name: string;
	kind: "numeric";
	/** Rows the baseline was measured on. */
	count: number;
	/** Values at 0, 1/(Q), …, 1 of the baseline's distribution (ascending). */
	quantiles: number[];
	/** True when the quantiles were made from mean and std (an older dataset report). */
	approximate: boolean;
}

export interface CategoricalBaseline {
	name: string;
	kind: "categorical";
	count: number;
	/** Category → share of the baseline's rows (missing left out; shares add up to 1). */
	shares: Record<string, number>;
}

export type FeatureBaseline = NumericBaseline | CategoricalBaseline;

export interface DriftBaseline {
	/** What it was made from, e.g. `dataset iris@1`. */
	source: string;
	features: FeatureBaseline[];
	/** The label column's distribution: what the predictions are compared with; null without one. */
	prediction: FeatureBaseline | null;
}

/** How many quantiles a numeric column's report keeps: every percentile. */
export const BASELINE_QUANTILES = 101;

/** Φ⁻¹(p) (Acklam's rational approximation, relative error < 1.2e-9). */
export function normalQuantile(p: number): number {
	const a = [
		-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2,
		-3.066479806614716e1, 2.506628277459239,
	];
	const b = [
		-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1,
		-1.328068155288572e1,
	];
	const c = [
		-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734,
		4.374664141464968, 2.938163982698783,
	];
	const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
	if (p <= 0) return -Infinity;
	if (p >= 1) return Infinity;
	const low = 0.02425;
	if (p < low) {
		const q = Math.sqrt(-2 * Math.log(p));
		return (
			(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
			((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
		);
	}
	if (p > 1 - low) return -normalQuantile(1 - p);
	const q = p - 0.5;
	const r = q * q;
	return (
		((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) /
		(((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
	);
}

/** Quantiles of sorted values at k/(count−1), linear between order statistics (numpy's default). */
export function quantilesOf(sorted: ArrayLike<number>, count = BASELINE_QUANTILES): number[] {
	const n = sorted.length;
	if (n === 0) return [];
	const out: number[] = [];
	for (let k = 0; k < count; k++) {
		const pos = (k / (count - 1)) * (n - 1);
		const lo = Math.floor(pos);
		const hi = Math.min(lo + 1, n - 1);
		out.push(sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo));
	}
	return out;
}

/** A numeric column's baseline from its report: its quantiles, or a normal from mean and std. */
function numericBaseline(
	column: ColumnReport & { type: "numeric" },
	rows: number,
): NumericBaseline | null {
	const count = rows - column.missing;
	if (column.quantiles && column.quantiles.length >= 2)
		return {
			name: column.name,
			kind: "numeric",
			count,
			quantiles: column.quantiles,
			approximate: false,
		};
	const { mean, std, min, max } = column;
	if (mean === null || std === null || min === null || max === null) return null;
	const quantiles: number[] = [];
	for (let k = 0; k < BASELINE_QUANTILES; k++) {
		const p = k / (BASELINE_QUANTILES - 1);
		const v =
			k === 0 ? min : k === BASELINE_QUANTILES - 1 ? max : mean + std * normalQuantile(p);
		quantiles.push(Math.min(max, Math.max(min, v)));
	}
	return { name: column.name, kind: "numeric", count, quantiles, approximate: true };
}

function columnBaseline(column: ColumnReport, rows: number): FeatureBaseline | null {
	if (column.type === "numeric") return numericBaseline(column, rows);
	const total = column.categories.reduce((sum, c) => sum + c.count, 0);
	if (total === 0) return null;
	const shares: Record<string, number> = {};
	for (const c of column.categories) shares[String(c.value)] = c.count / total;
	return { name: column.name, kind: "categorical", count: total, shares };
}

/**
 * The baseline of a dataset for the features a model takes (by name; columns the model does
 * not take are left out, and features the dataset lacks have no baseline).
 */
export function baselineFromReport(
	report: DatasetReport,
	features: readonly string[],
	source: string,
): DriftBaseline {
	const byName = new Map(report.columns.map(c => [c.name, c]));
	const out: FeatureBaseline[] = [];
	for (const name of features) {
		const column = byName.get(name);
		const baseline = column ? columnBaseline(column, report.rows) : null;
		if (baseline) out.push(baseline);
	}
	const labelColumn = report.label ? byName.get(report.label.column) : undefined;
	const prediction = labelColumn ? columnBaseline(labelColumn, report.rows) : null;
	// A classifier's label may be numeric codes (0/1): compared as categories with the predictions.
	const classes = report.label?.classes;
	const asClasses =
		classes && prediction?.kind === "numeric"
			? {
					name: prediction.name,
					kind: "categorical" as const,
					count: prediction.count,
					shares: Object.fromEntries(classes.map(c => [String(c.value), c.fraction])),
				}
			: prediction;
	return { source, features: out, prediction: asClasses };
}
