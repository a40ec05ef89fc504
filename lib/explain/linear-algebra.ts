/**
 * The little linear algebra KernelSHAP needs: weighted least squares whose coefficients must add
 * up to a given total, solved through its KKT system with Gaussian elimination (partial
 * pivoting). Dense, float64, sizes up to a few hundred. Pure: no Node APIs.
 */

/**
 * Solves a square system in place: `a` is n×n row-major (destroyed), `b` has n values and
 * becomes the solution. Returns false when a pivot is below `tolerance` times the largest
 * absolute entry (the matrix is singular to working precision).
 */
export function solveInPlace(
	a: Float64Array,
	b: Float64Array,
	n: number,
	tolerance = 1e-12,
): boolean {
	let scale = 0;
	for (let i = 0; i < n * n; i++) scale = Math.max(scale, Math.abs(a[i]));
	if (scale === 0) return n === 0;
	for (let k = 0; k < n; k++) {
		let pivot = k;
		for (let i = k + 1; i < n; i++)
			if (Math.abs(a[i * n + k]) > Math.abs(a[pivot * n + k])) pivot = i;
		if (Math.abs(a[pivot * n + k]) <= tolerance * scale) return false;
		if (pivot !== k) {
			for (let j = 0; j < n; j++) {
				const t = a[k * n + j];
				a[k * n + j] = a[pivot * n + j];
				a[pivot * n + j] = t;
			}
			const t = b[k];
			b[k] = b[pivot];
			b[pivot] = t;
		}
		const d = a[k * n + k];
		for (let i = k + 1; i < n; i++) {
			const f = a[i * n + k] / d;
			if (f === 0) continue;
			for (let j = k; j < n; j++) a[i * n + j] -= f * a[k * n + j];
			b[i] -= f * b[k];
		}
	}
	for (let k = n - 1; k >= 0; k--) {
		let s = b[k];
		for (let j = k + 1; j < n; j++) s -= a[k * n + j] * b[j];
		b[k] = s / a[k * n + k];
	}
	return true;
}

/**
 * The normal equations of a weighted least-squares problem: Zᵀ W Z (m×m) and Zᵀ W y for `rows`
 * rows of `m` 0/1 (or any) regressors. Several right-hand sides share one Zᵀ W Z: `y` is
 * [rows × targets], the result's `zty` [targets × m].
 */
export function normalEquations(
	z: Uint8Array | Float64Array,
	weights: Float64Array,
	y: Float64Array,
	rows: number,
	m: number,
	targets: number,
): { ztz: Float64Array; zty: Float64Array } {
	const ztz = new Float64Array(m * m);
	const zty = new Float64Array(targets * m);
	const on = new Int32Array(m);
	for (let s = 0; s < rows; s++) {
		const w = weights[s];
		if (w === 0) continue;
		// 0/1 rows (coalitions) are sparse in practice: gather the ones that are set.
		let count = 0;
		for (let j = 0; j < m; j++) if (z[s * m + j] !== 0) on[count++] = j;
		for (let p = 0; p < count; p++) {
			const i = on[p];
			const wi = w * z[s * m + i];
			for (let q = 0; q < count; q++) ztz[i * m + on[q]] += wi * z[s * m + on[q]];
			for (let t = 0; t < targets; t++) zty[t * m + i] += wi * y[s * targets + t];
		}
	}
	return { ztz, zty };
}

/**
 * argmin_φ Σ w_s (y_s − z_s·φ)² subject to Σ φ = total, from the normal equations (ztz, zty
 * for one target), by the KKT system [[2ZᵀWZ, 1], [1ᵀ, 0]] [φ; μ] = [2ZᵀWy; total]. When the
 * samples do not determine φ (fewer distinct coalitions than features), a ridge of 1e-9 of the
 * largest diagonal entry picks the smallest-norm answer among the fits.
 */
export function constrainedLeastSquares(
	ztz: Float64Array,
	zty: Float64Array,
	m: number,
	total: number,
): Float64Array {
	const n = m + 1;
	let maxDiagonal = 0;
	for (let i = 0; i < m; i++) maxDiagonal = Math.max(maxDiagonal, ztz[i * m + i]);
	for (const ridge of [0, 1e-9 * maxDiagonal, 1e-6 * maxDiagonal, 1e-3 * maxDiagonal]) {
		const a = new Float64Array(n * n);
		const b = new Float64Array(n);
		for (let i = 0; i < m; i++) {
			for (let j = 0; j < m; j++) a[i * n + j] = 2 * ztz[i * m + j];
			a[i * n + i] += 2 * ridge;
			a[i * n + m] = 1;
			a[m * n + i] = 1;
			b[i] = 2 * zty[i];
		}
		b[m] = total;
		if (solveInPlace(a, b, n)) return b.slice(0, m);
	}
	// Nothing was learnt (no weight on any sample): share the total equally.
	return new Float64Array(m).fill(m > 0 ? total / m : 0);
}
