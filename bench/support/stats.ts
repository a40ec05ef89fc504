/** Small statistics helpers: medians over runs, percentiles of latencies. */

export function median(values: readonly number[]): number {
	return percentile(values, 50);
}

/** Nearest-rank percentile (p in 0..100) of unsorted values. */
export function percentile(values: readonly number[], p: number): number {
	if (values.length === 0) return Number.NaN;
	const sorted = [...values].sort((a, b) => a - b);
	const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
	return sorted[rank];
}

/** A number rounded for a table: `digits` decimals. */
export function fixed(value: number, digits = 1): string {
	return value.toFixed(digits);
}

/** Lets timers and I/O run between measured phases. */
export function tick(): Promise<void> {
	return new Promise(resolve => setImmediate(resolve));
}
