/**
 * Statistics of one column, over all rows or a subset (a split's row indices). Missing values
 * (NaN, code -1) are counted and left out. The std is the population one (divides by n), as
 * scikit-learn's StandardScaler uses.
 */

export interface NumericStats {
	/** Values present. */
	count: number;
	missing: number;
	/** NaN when no value is present (as are mean and std). */
	min: number;
	max: number;
	mean: number;
	std: number;
}

/** Two passes (mean, then squared deviations): exact enough for any column a file holds. */
export function numericStats(values: Float64Array, rows?: ArrayLike<number>): NumericStats {
	const n = rows ? rows.length : values.length;
	const at = rows ? (i: number) => values[rows[i]] : (i: number) => values[i];
	let count = 0;
	let sum = 0;
	let min = Infinity;
	let max = -Infinity;
	for (let i = 0; i < n; i++) {
		const v = at(i);
		if (v !== v) continue;
		count++;
		sum += v;
		if (v < min) min = v;
		if (v > max) max = v;
	}
	if (count === 0) return { count, missing: n, min: NaN, max: NaN, mean: NaN, std: NaN };
	const mean = sum / count;
	let squares = 0;
	for (let i = 0; i < n; i++) {
		const v = at(i);
		if (v === v) squares += (v - mean) * (v - mean);
	}
	return { count, missing: n - count, min, max, mean, std: Math.sqrt(squares / count) };
}

/** Rows per code 0 … k-1 (codes of -1, missing, are not counted). */
export function codeCounts(codes: Int32Array, k: number, rows?: ArrayLike<number>): number[] {
	const counts = new Array<number>(k).fill(0);
	const n = rows ? rows.length : codes.length;
	for (let i = 0; i < n; i++) {
		const code = codes[rows ? rows[i] : i];
		if (code >= 0) counts[code]++;
	}
	return counts;
}
