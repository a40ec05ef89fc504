/**
 * Whether a trained model meets its job's acceptance thresholds (e.g. accuracy ≥ 0.9): the
 * decision between the version states Trained and Validated.
 */
import type { MetricName, Threshold } from "./job-spec";

export interface AcceptanceFailure {
	metric: MetricName;
	/** null when the metric could not be computed (an AUC with one class in the test split). */
	value: number | null;
	threshold: Threshold;
}

export interface AcceptanceResult {
	/** Every threshold holds (vacuously true with none: the caller decides what that means). */
	passed: boolean;
	failures: AcceptanceFailure[];
}

export function checkAcceptance(
	thresholds: Partial<Record<MetricName, Threshold>>,
	values: Partial<Record<MetricName, number | null>>,
): AcceptanceResult {
	const failures: AcceptanceFailure[] = [];
	for (const [metric, threshold] of Object.entries(thresholds) as [MetricName, Threshold][]) {
		const value = values[metric] ?? null;
		const low = threshold.min !== undefined && (value === null || value < threshold.min);
		const high = threshold.max !== undefined && (value === null || value > threshold.max);
		if (low || high) failures.push({ metric, value, threshold });
	}
	return { passed: failures.length === 0, failures };
}
