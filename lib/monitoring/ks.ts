/**
 * The Kolmogorov–Smirnov two-sample test: the statistic D (the largest gap between two
 * empirical CDFs) and its asymptotic p-value from the Kolmogorov distribution, with Stephens'
 * small-sample correction (Numerical Recipes' `kstwo`; scipy's `ks_2samp(..., method="asymp")`
 * gives the same D). Against a baseline kept as quantiles, the baseline's CDF is the
 * piecewise-linear one through them (a baseline of many rows: its own sampling noise is small).
 */

export interface KsResult {
	/** The largest absolute gap between the two CDFs, in [0, 1]. */
	statistic: number;
	/** The probability of a gap at least this large when both come from one distribution. */
	pValue: number;
}

/**
 * Q_KS(λ) = 2 Σ_{k≥1} (−1)^{k−1} e^{−2k²λ²}: the survival function of the Kolmogorov
 * distribution (scipy.special.kolmogorov).
 */
export function kolmogorovSurvival(lambda: number): number {
	if (!(lambda > 0)) return 1;
	// Below ~0.2 the alternating series converges slowly and its value is 1 to double precision.
	if (lambda < 0.2) return 1;
	let sum = 0;
	let sign = 1;
	for (let k = 1; k <= 100; k++) {
		const term = sign * Math.exp(-2 * k * k * lambda * lambda);
		sum += term;
		if (Math.abs(term) < 1e-16 * Math.abs(sum)) break;
		sign = -sign;
	}
	return Math.min(1, Math.max(0, 2 * sum));
}

/** The asymptotic p-value of D for an effective sample size `en` (n·m / (n + m) for two samples). */
export function ksPValue(statistic: number, en: number): number {
	if (!(en > 0)) return 1;
	const root = Math.sqrt(en);
	return kolmogorovSurvival((root + 0.12 + 0.11 / root) * statistic);
}

const ascending = (a: number, b: number) => a - b;

/** Finite values, sorted; NaN (missing) left out. */
function sortedFinite(values: ArrayLike<number>): Float64Array {
	const out: number[] = [];
	for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i])) out.push(values[i]);
	return Float64Array.from(out.sort(ascending));
}

/** The two-sample test of `a` against `b` (missing values left out). */
export function ksTwoSample(a: ArrayLike<number>, b: ArrayLike<number>): KsResult {
	const x = sortedFinite(a);
	const y = sortedFinite(b);
	const n = x.length;
	const m = y.length;
	if (n === 0 || m === 0) return { statistic: 0, pValue: 1 };
	let i = 0;
	let j = 0;
	let d = 0;
	// Walk both sorted samples; ties step past every equal value of both before comparing.
	while (i < n && j < m) {
		const v = Math.min(x[i], y[j]);
		while (i < n && x[i] === v) i++;
		while (j < m && y[j] === v) j++;
		const gap = Math.abs(i / n - j / m);
		if (gap > d) d = gap;
	}
	return { statistic: d, pValue: ksPValue(d, (n * m) / (n + m)) };
}

/**
 * The CDF through a baseline's quantiles `q` (q[k] is the value below which k/(len−1) of the
 * baseline lies), linear between them; 0 below the first, 1 from the last.
 */
export function quantileCdf(q: readonly number[], x: number): number {
	const last = q.length - 1;
	if (last < 1 || x < q[0]) return 0;
	if (x >= q[last]) return 1;
	// The last quantile ≤ x (binary search), then linear within its interval.
	let lo = 0;
	let hi = last;
	while (hi - lo > 1) {
		const mid = (lo + hi) >> 1;
		if (q[mid] <= x) lo = mid;
		else hi = mid;
	}
	const width = q[hi] - q[lo];
	const within = width > 0 ? (x - q[lo]) / width : 1;
	return (lo + within) / last;
}

/**
 * The baseline CDF just below x, F(x⁻): where quantiles repeat (a value many rows share) the
 * CDF jumps, and the window's empirical CDF below such a value must be compared with the
 * bottom of the jump.
 */
export function quantileCdfBelow(q: readonly number[], x: number): number {
	const last = q.length - 1;
	if (last < 1 || x <= q[0]) return 0;
	if (x > q[last]) return 1;
	// The last quantile < x (binary search), then linear within its interval.
	let lo = 0;
	let hi = last;
	while (hi - lo > 1) {
		const mid = (lo + hi) >> 1;
		if (q[mid] < x) lo = mid;
		else hi = mid;
	}
	const width = q[hi] - q[lo];
	const within = width > 0 ? (x - q[lo]) / width : 1;
	return (lo + within) / last;
}

/**
 * The test of a window's values against a baseline kept as quantiles of `baselineCount` rows:
 * D between the window's empirical CDF and the baseline's piecewise-linear CDF (with its jumps
 * at repeated values).
 */
export function ksAgainstQuantiles(
	window: ArrayLike<number>,
	quantiles: readonly number[],
	baselineCount: number,
): KsResult {
	const x = sortedFinite(window);
	const n = x.length;
	if (n === 0 || quantiles.length < 2) return { statistic: 0, pValue: 1 };
	let d = 0;
	let i = 0;
	while (i < n) {
		const v = x[i];
		const below = i / n;
		while (i < n && x[i] === v) i++;
		// Both CDFs step at v: compare just below v, and at v.
		d = Math.max(
			d,
			Math.abs(quantileCdfBelow(quantiles, v) - below),
			Math.abs(i / n - quantileCdf(quantiles, v)),
		);
	}
	const en = baselineCount > 0 ? (n * baselineCount) / (n + baselineCount) : n;
	return { statistic: d, pValue: ksPValue(d, en) };
}
