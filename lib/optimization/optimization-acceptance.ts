/**
 * Whether an optimized version meets its job's thresholds: the decision between Validated and
 * Trained, as for training. Pure.
 */
import type { OptimizationEvaluation } from "./evaluation";
import type { OptimizationAcceptance } from "./optimization-spec";

export interface OptimizationVerdict {
	passed: boolean;
	/** One sentence per threshold missed. */
	failures: string[];
}

export function judgeOptimization(
	evaluation: OptimizationEvaluation,
	thresholds: OptimizationAcceptance,
): OptimizationVerdict {
	const failures: string[] = [];
	const accuracy = evaluation.accuracy;
	if (accuracy !== null) {
		const lost = (accuracy.source - accuracy.optimized) * 100;
		if (!(lost <= thresholds.maxAccuracyDrop))
			failures.push(
				`accuracy fell ${lost.toFixed(2)} points (${(accuracy.source * 100).toFixed(2)} → ${(accuracy.optimized * 100).toFixed(2)}); at most ${thresholds.maxAccuracyDrop} allowed`,
			);
	}
	const argmax = evaluation.agreement.argmax;
	if (argmax !== null && !(argmax >= thresholds.minArgmaxAgreement))
		failures.push(
			`argmax agreement with the source is ${argmax.toFixed(4)}; at least ${thresholds.minArgmaxAgreement} required`,
		);
	const rel = evaluation.agreement.maxRelDiff;
	if (thresholds.maxRelativeDifference !== null && !(rel <= thresholds.maxRelativeDifference))
		failures.push(
			`outputs differ by up to ${rel.toExponential(2)} (relative); at most ${thresholds.maxRelativeDifference} allowed`,
		);
	return { passed: failures.length === 0, failures };
}
