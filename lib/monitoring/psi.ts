/**
 * The population stability index: Σ (a − e) · ln(a / e) over bins, where e is a bin's share in
 * the baseline and a its share in the window. Numeric features are binned at the baseline's
 * deciles (so each bin holds about a tenth of the baseline), categorical ones by category, with
 * one more bin for values the baseline never had. Shares are floored at a small ε so an empty
 * bin counts as a large but finite shift (Evidently and SageMaker Model Monitor do the same).
 */

/** The floor of a bin's share. */
export const PSI_EPSILON = 1e-4;

/** PSI from the baseline's shares and the window's counts per bin (same order). */
export function psi(expectedShares: readonly number[], actualCounts: readonly number[]): number {
	let total = 0;
	for (const c of actualCounts) total += c;
	if (total === 0) return 0;
	let sum = 0;
	for (let k = 0; k < expectedShares.length; k++) {
		const e = Math.max(expectedShares[k], PSI_EPSILON);
		const a = Math.max(actualCounts[k] / total, PSI_EPSILON);
		sum += (a - e) * Math.log(a / e);
	}
	return sum;
}

/** Numeric bins: inner edges, ascending and distinct; bin k holds edges[k−1] < x ≤ edges[k]. */
export interface NumericBins {
	edges: number[];
	/** The baseline's share of each of the edges.length + 1 bins. */
	shares: number[];
}

/**
 * Bins from a baseline's quantiles q[0..Q] (q[k] at k/Q): inner edges at the deciles, equal
 * edges (a feature with few values) merged with their shares added.
 */
export function binsFromQuantiles(q: readonly number[], bins = 10): NumericBins {
	const last = q.length - 1;
	if (last < 1) return { edges: [], shares: [1] };
	const edges: number[] = [];
	const shares: number[] = [];
	let previousAt = 0;
	for (let b = 1; b < bins; b++) {
		const at = b / bins;
		const edge = quantileAt(q, at);
		if (edges.length > 0 && edge <= edges[edges.length - 1]) continue;
		// A repeated value holds the mass of every quantile equal to it: the bin ending at the
		// edge gets the share up to the last quantile equal to the edge.
		const upTo = Math.max(at, lastIndexAtMost(q, edge) / last);
		edges.push(edge);
		shares.push(upTo - previousAt);
		previousAt = upTo;
	}
	shares.push(1 - previousAt);
	return { edges, shares };
}

/** The value at cumulative share `at`, linear between quantiles. */
function quantileAt(q: readonly number[], at: number): number {
	const pos = at * (q.length - 1);
	const lo = Math.floor(pos);
	const hi = Math.min(lo + 1, q.length - 1);
	return q[lo] + (q[hi] - q[lo]) * (pos - lo);
}

/** The index of the last quantile ≤ v. */
function lastIndexAtMost(q: readonly number[], v: number): number {
	let k = -1;
	for (let i = 0; i < q.length; i++) if (q[i] <= v) k = i;
	return Math.max(k, 0);
}

/** Counts of window values per bin (missing values left out). */
export function countNumeric(bins: NumericBins, values: ArrayLike<number>): number[] {
	const counts = new Array<number>(bins.edges.length + 1).fill(0);
	for (let i = 0; i < values.length; i++) {
		const v = values[i];
		if (!Number.isFinite(v)) continue;
		let lo = 0;
		let hi = bins.edges.length;
		while (lo < hi) {
			const mid = (lo + hi) >> 1;
			if (v <= bins.edges[mid]) hi = mid;
			else lo = mid + 1;
		}
		counts[lo]++;
	}
	return counts;
}

/**
 * PSI of a categorical feature: the baseline's share per category, and a last bin for
 * categories it never had (expected share 0, floored at ε).
 */
export function categoricalPsi(
	baseline: ReadonlyMap<string, number>,
	values: readonly (string | null)[],
): number {
	const categories = [...baseline.keys()];
	const index = new Map(categories.map((c, i) => [c, i]));
	const counts = new Array<number>(categories.length + 1).fill(0);
	for (const v of values) {
		if (v === null) continue;
		counts[index.get(v) ?? categories.length]++;
	}
	return psi([...baseline.values(), 0], counts);
}
