/**
 * What a captured answer predicted, as one value per row: the class (as text) for a
 * classifier, the value for a regressor. A text output (a pipeline's label) is the class; a
 * vector output's largest entry is (its label when the version has labels); a single number
 * is a class index when whole, else a probability of the positive class (≥ 0.5 → 1).
 */
import type { CaptureRow } from "./capture";

export type Task = "classification" | "regression" | string;

export function predictedValue(
	outputs: CaptureRow,
	task: Task,
	labels: readonly string[] | null,
): string | number | null {
	const values = Object.values(outputs);
	if (task === "regression") {
		for (const v of values) {
			if (typeof v === "number") return v;
			if (Array.isArray(v) && typeof v[0] === "number") return v[0];
		}
		return null;
	}
	const text = values.find(v => typeof v === "string");
	if (typeof text === "string") return text;
	const first = values.find(v => v !== null);
	const className = (index: number) => labels?.[index] ?? String(index);
	if (Array.isArray(first)) {
		if (first.length === 1 && typeof first[0] === "number")
			return className(first[0] >= 0.5 ? 1 : 0);
		let best = -1;
		let bestValue = -Infinity;
		first.forEach((v, i) => {
			if (typeof v === "number" && v > bestValue) {
				best = i;
				bestValue = v;
			}
		});
		return best < 0 ? null : className(best);
	}
	if (typeof first === "number")
		return Number.isInteger(first) ? className(first) : className(first >= 0.5 ? 1 : 0);
	return null;
}
