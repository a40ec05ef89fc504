/**
 * KernelSHAP (Lundberg & Lee 2017, "A unified approach to interpreting model predictions"):
 * Shapley values of a model's output for one row x against a background set, as the weighted
 * least-squares fit of v(S) = E_b[f(x_S, b_rest)] over coalitions S with the Shapley kernel
 * weight π(S) = (M − 1) / (C(M, |S|) · |S| · (M − |S|)), constrained so the values add up to
 * exactly f(x) − E_b[f(b)] (the empty and the full coalition, whose weights are infinite).
 *
 * When 2^M − 2 coalitions fit in the sample budget every one is enumerated with its exact
 * weight, and the answer is the exact Shapley value. Otherwise coalitions are chosen as the
 * shap package's KernelExplainer does: whole subset sizes (a size and its complement together,
 * smallest first) while the budget covers their share of the kernel's weight, then the rest
 * drawn by the kernel's weight of the remaining sizes with a seeded generator, each drawn
 * coalition with its complement, a coalition drawn again adding to its weight. For a linear
 * model every fit is exact whatever the samples: v(S) is linear in the coalition.
 *
 * The model is not called here: `planCoalitions` says which coalitions to evaluate, the caller
 * evaluates them (all at once, through the runtime) and `kernelShapValues` solves. Pure.
 */
import { SeededRandom } from "../datasets/seeded-random";
import { constrainedLeastSquares, normalEquations } from "./linear-algebra";

export interface CoalitionPlan {
	/** Features the coalitions range over. */
	features: number;
	/** Coalitions to evaluate. */
	count: number;
	/** [count × features]: 1 where the feature takes x's value, 0 where the background's. */
	masks: Uint8Array;
	/** Each coalition's weight in the fit (relative; the kernel's, normalised). */
	weights: Float64Array;
	/** Every coalition was enumerated: the values are the exact Shapley values. */
	exact: boolean;
}

/** C(n, k) as a float (exact up to 2^53). */
export function binomial(n: number, k: number): number {
	if (k < 0 || k > n) return 0;
	let c = 1;
	for (let i = 1; i <= Math.min(k, n - k); i++) c = (c * (n - i + 1)) / i;
	return Math.round(c);
}

/** The Shapley kernel's weight of one coalition of `size` among `m` features (0 < size < m). */
export function kernelWeight(m: number, size: number): number {
	return (m - 1) / (binomial(m, size) * size * (m - size));
}

/** Every subset of `size` of 0…m-1, in lexicographic order. */
function* subsets(m: number, size: number): Generator<Int32Array> {
	const c = Int32Array.from({ length: size }, (_, i) => i);
	while (true) {
		yield c;
		let i = size - 1;
		while (i >= 0 && c[i] === m - size + i) i--;
		if (i < 0) return;
		c[i]++;
		for (let j = i + 1; j < size; j++) c[j] = c[j - 1] + 1;
	}
}

/** Budgets above this still enumerate at most 2^20 coalitions (M ≤ 20). */
const MAX_ENUMERATED_FEATURES = 20;

/**
 * The coalitions to evaluate for `m` features within `nsamples` evaluations (each coalition is
 * later evaluated against every background row). Deterministic for a seed.
 */
export function planCoalitions(m: number, nsamples: number, seed = 0): CoalitionPlan {
	if (m <= 1)
		return {
			features: m,
			count: 0,
			masks: new Uint8Array(0),
			weights: new Float64Array(0),
			exact: true,
		};
	const all = 2 ** m - 2;
	if (m <= MAX_ENUMERATED_FEATURES && all <= nsamples) return enumerateAll(m);
	return sampleCoalitions(m, Math.max(nsamples, 2), new SeededRandom(seed));
}

function enumerateAll(m: number): CoalitionPlan {
	const count = 2 ** m - 2;
	const masks = new Uint8Array(count * m);
	const weights = new Float64Array(count);
	for (let bits = 1; bits <= count; bits++) {
		let size = 0;
		for (let j = 0; j < m; j++)
			if ((bits >>> j) & 1) {
				masks[(bits - 1) * m + j] = 1;
				size++;
			}
		weights[bits - 1] = kernelWeight(m, size);
	}
	return { features: m, count, masks, weights, exact: true };
}

/** Coalitions chosen so far, and how many evaluations the budget has left. */
interface CoalitionDraft {
	masks: Uint8Array[];
	weights: number[];
	left: number;
}

/** The kernel's total weight per subset size, normalised (a paired size carries its complement's too). */
function sizeWeightsOf(m: number, sizes: number, paired: number): number[] {
	const sizeWeight = Array.from({ length: sizes }, (_, i) => {
		const s = i + 1;
		return ((m - 1) / (s * (m - s))) * (s <= paired ? 2 : 1);
	});
	const sum = sizeWeight.reduce((a, b) => a + b, 0);
	for (let i = 0; i < sizes; i++) sizeWeight[i] /= sum;
	return sizeWeight;
}

/** Enumerates whole subset sizes, smallest first, while the budget covers them; how many were. */
function enumerateFullSizes(
	m: number,
	sizeWeight: readonly number[],
	paired: number,
	draft: CoalitionDraft,
): number {
	const sizes = sizeWeight.length;
	const { masks, weights } = draft;
	let remaining = [...sizeWeight];
	let full = 0;
	for (let s = 1; s <= sizes; s++) {
		const isPaired = s <= paired;
		const n = binomial(m, s) * (isPaired ? 2 : 1);
		if ((draft.left * remaining[s - 1]) / n < 1 - 1e-8) break;
		full++;
		draft.left -= n;
		if (remaining[s - 1] < 1) {
			const rest = 1 - remaining[s - 1];
			remaining = remaining.map(w => w / rest);
		}
		const w = sizeWeight[s - 1] / binomial(m, s) / (isPaired ? 2 : 1);
		for (const subset of subsets(m, s)) {
			const mask = new Uint8Array(m);
			for (const j of subset) mask[j] = 1;
			masks.push(mask);
			weights.push(w);
			if (isPaired) {
				masks.push(mask.map(v => 1 - v));
				weights.push(w);
			}
		}
	}
	return full;
}

/**
 * Draws coalitions of the sizes not enumerated until the budget is spent, then gives them the
 * weight those sizes left.
 */
function drawCoalitions(
	m: number,
	nsamples: number,
	sizeWeight: readonly number[],
	paired: number,
	full: number,
	draft: CoalitionDraft,
	random: SeededRandom,
): void {
	const { masks, weights } = draft;
	const fixed = masks.length;
	// Draw sizes by their remaining weight; a paired size's draw brings its complement.
	const draw = sizeWeight.slice(full).map((w, i) => (full + i + 1 <= paired ? w / 2 : w));
	const total = draw.reduce((a, b) => a + b, 0);
	const cumulative: number[] = [];
	let acc = 0;
	for (const w of draw) cumulative.push((acc += w / total));
	const seen = new Map<string, number>();
	// A new coalition takes a sample; one drawn again adds to its weight instead.
	const add = (mask: Uint8Array): void => {
		const key = mask.join("");
		const at = seen.get(key);
		if (at !== undefined) {
			weights[at] += 1;
			return;
		}
		seen.set(key, masks.length);
		masks.push(mask);
		weights.push(1);
		draft.left--;
	};
	const order = new Uint32Array(m);
	for (let tries = 0; draft.left > 0 && tries < 4 * nsamples; tries++) {
		const u = random.next();
		let k = 0;
		while (k < cumulative.length - 1 && u >= cumulative[k]) k++;
		const size = full + k + 1;
		for (let i = 0; i < m; i++) order[i] = i;
		// A partial Fisher–Yates shuffle: the first `size` places are a uniform subset.
		const mask = new Uint8Array(m);
		for (let i = 0; i < size; i++) {
			const j = i + random.int(m - i);
			const t = order[i];
			order[i] = order[j];
			order[j] = t;
			mask[order[i]] = 1;
		}
		add(mask);
		if (size <= paired && draft.left > 0) add(mask.map(v => 1 - v));
	}
	// The drawn coalitions share the weight the enumerated sizes left.
	const weightLeft = sizeWeight.slice(full).reduce((a, b) => a + b, 0);
	const drawn = weights.slice(fixed).reduce((a, b) => a + b, 0);
	for (let i = fixed; i < weights.length; i++) weights[i] *= weightLeft / drawn;
}

function sampleCoalitions(m: number, nsamples: number, random: SeededRandom): CoalitionPlan {
	const sizes = Math.ceil((m - 1) / 2);
	const paired = Math.floor((m - 1) / 2);
	const sizeWeight = sizeWeightsOf(m, sizes, paired);
	const draft: CoalitionDraft = { masks: [], weights: [], left: nsamples };
	const full = enumerateFullSizes(m, sizeWeight, paired, draft);
	if (full < sizes && draft.left > 0)
		drawCoalitions(m, nsamples, sizeWeight, paired, full, draft, random);
	const { masks, weights } = draft;
	const out = new Uint8Array(masks.length * m);
	masks.forEach((mask, i) => out.set(mask, i * m));
	return {
		features: m,
		count: masks.length,
		masks: out,
		weights: Float64Array.from(weights),
		exact: false,
	};
}

/**
 * The SHAP values from the coalitions' evaluations: `values` is [count × outputs], each the
 * mean model output over the background rows with the coalition's features taken from x;
 * `fx` and `base` ([outputs]) are f(x) and E[f(background)]. Returns [outputs × features]; each
 * output's values add up to fx − base exactly (up to rounding).
 */
export function kernelShapValues(
	plan: CoalitionPlan,
	values: Float64Array,
	fx: ArrayLike<number>,
	base: ArrayLike<number>,
): Float64Array {
	const m = plan.features;
	const outputs = fx.length;
	const phi = new Float64Array(outputs * m);
	if (m === 0) return phi;
	if (m === 1) {
		for (let k = 0; k < outputs; k++) phi[k] = fx[k] - base[k];
		return phi;
	}
	const y = new Float64Array(plan.count * outputs);
	for (let s = 0; s < plan.count; s++)
		for (let k = 0; k < outputs; k++) y[s * outputs + k] = values[s * outputs + k] - base[k];
	const { ztz, zty } = normalEquations(plan.masks, plan.weights, y, plan.count, m, outputs);
	for (let k = 0; k < outputs; k++) {
		const solved = constrainedLeastSquares(
			ztz,
			zty.subarray(k * m, (k + 1) * m),
			m,
			fx[k] - base[k],
		);
		phi.set(solved, k * m);
	}
	return phi;
}
