/**
 * Drift of one window of captured traffic against the baseline: per feature the PSI (binned at
 * the baseline's deciles, or by category) and, for numeric features, the Kolmogorov–Smirnov
 * statistic with its p-value; the same for the predictions against the label's distribution.
 * A feature drifts when its PSI reaches the threshold, or when KS is significant (p below
 * α / number of numeric features: Bonferroni, so a window from the baseline's distribution is
 * flagged with probability ≤ α) and its statistic is at least `ksMinStatistic` (on large
 * windows KS finds shifts too small to matter).
 */
import type { DriftBaseline, FeatureBaseline } from "./baseline";
import { ksAgainstQuantiles } from "./ks";
import { binsFromQuantiles, categoricalPsi, countNumeric, psi } from "./psi";

export interface DriftThresholds {
	/** PSI at or above this flags a feature. Default 0.2 (the usual "significant shift"). */
	psi: number;
	/** Family-wise significance of the KS tests of one window. Default 0.01. */
	ksAlpha: number;
	/** The smallest KS statistic that may flag a feature. Default 0.1. */
	ksMinStatistic: number;
}

export const DEFAULT_DRIFT_THRESHOLDS: Readonly<DriftThresholds> = Object.freeze({
	psi: 0.2,
	ksAlpha: 0.01,
	ksMinStatistic: 0.1,
});

/** A window's values of one feature: numbers (NaN missing) or categories (null missing). */
export type FeatureValues =
	{ kind: "numeric"; values: number[] } | { kind: "categorical"; values: (string | null)[] };

export interface FeatureDrift {
	name: string;
	kind: "numeric" | "categorical";
	psi: number;
	/** KS statistic and p-value; null for categorical features. */
	ks: number | null;
	pValue: number | null;
	drifted: boolean;
}

export interface DriftReport {
	rows: number;
	status: "ok" | "drift";
	/** Every feature with a baseline, the largest PSI first. */
	features: FeatureDrift[];
	/** The predictions against the baseline's label; null without one. */
	prediction: FeatureDrift | null;
	/** Names of the drifted features (in the order of `features`). */
	drifted: string[];
	thresholds: DriftThresholds;
	/** Per-test significance used for KS (ksAlpha / numeric features). */
	ksAlphaPerFeature: number;
}

/** Numbers of a column given as categories or numbers (non-numbers become missing). */
function asNumbers(values: FeatureValues): number[] {
	if (values.kind === "numeric") return values.values;
	return values.values.map(v => (v === null || v === "" ? NaN : Number(v)));
}

/** Categories of a column (numbers as their text, as datasets read them). */
function asCategories(values: FeatureValues): (string | null)[] {
	if (values.kind === "categorical") return values.values;
	return values.values.map(v => (Number.isFinite(v) ? String(v) : null));
}

function featureDrift(
	baseline: FeatureBaseline,
	values: FeatureValues,
	thresholds: DriftThresholds,
	ksAlpha: number,
): FeatureDrift {
	if (baseline.kind === "categorical") {
		const shares = new Map(Object.entries(baseline.shares));
		const score = categoricalPsi(shares, asCategories(values));
		return {
			name: baseline.name,
			kind: "categorical",
			psi: score,
			ks: null,
			pValue: null,
			drifted: score >= thresholds.psi,
		};
	}
	const numbers = asNumbers(values);
	const bins = binsFromQuantiles(baseline.quantiles);
	const score = psi(bins.shares, countNumeric(bins, numbers));
	const ks = ksAgainstQuantiles(numbers, baseline.quantiles, baseline.count);
	const drifted =
		score >= thresholds.psi ||
		(ks.pValue < ksAlpha && ks.statistic >= thresholds.ksMinStatistic);
	return {
		name: baseline.name,
		kind: "numeric",
		psi: score,
		ks: ks.statistic,
		pValue: ks.pValue,
		drifted,
	};
}

/** The drift of a window: `features` by name, `predictions` as the model answered. */
export function driftOf(
	baseline: DriftBaseline,
	window: {
		rows: number;
		features: ReadonlyMap<string, FeatureValues>;
		predictions: FeatureValues | null;
	},
	thresholds: DriftThresholds = DEFAULT_DRIFT_THRESHOLDS,
): DriftReport {
	const numeric = baseline.features.filter(f => f.kind === "numeric").length;
	const ksAlpha = thresholds.ksAlpha / Math.max(1, numeric);
	const features = baseline.features
		.filter(f => window.features.has(f.name))
		.map(f => featureDrift(f, window.features.get(f.name)!, thresholds, ksAlpha))
		.sort((a, b) => b.psi - a.psi);
	const prediction =
		baseline.prediction && window.predictions
			? featureDrift(baseline.prediction, window.predictions, thresholds, thresholds.ksAlpha)
			: null;
	const drifted = features.filter(f => f.drifted).map(f => f.name);
	const status = drifted.length > 0 || prediction?.drifted ? "drift" : "ok";
	return {
		rows: window.rows,
		status,
		features,
		prediction,
		drifted,
		thresholds: { ...thresholds },
		ksAlphaPerFeature: ksAlpha,
	};
}
