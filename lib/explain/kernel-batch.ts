/**
 * KernelSHAP for a batch of rows, around one model call: `planKernelShap` chooses each row's
 * coalitions (over the features where x differs from some background row: the others get 0),
 * `kernelShapBatch` lays every evaluation out as one batch of model inputs, and
 * `kernelShapResults` turns the model's outputs for that batch into SHAP values.
 *
 * The batch is the background rows (for E[f(background)]), then per explained row: the row
 * itself (f(x)) and, per coalition, every background row with the coalition's features set
 * to x's values. Tensor data of any datatype (typed arrays, BYTES strings) is mixed as it is.
 * Pure: no Node APIs.
 */
import type { TensorData } from "../inference/tensor";
import { kernelShapValues, planCoalitions, type CoalitionPlan } from "./kernel-shap";

export interface KernelShapOptions {
	/** Coalitions per row (at most; fewer when all are enumerated). */
	nsamples: number;
	/** Seed of the coalition sampling. */
	seed: number;
}

export interface RowPlan {
	/** The features x differs from the background on, which the coalitions range over. */
	varying: Int32Array;
	plan: CoalitionPlan;
}

export interface KernelShapJob {
	rows: number;
	features: number;
	backgroundRows: number;
	x: TensorData;
	background: TensorData;
	plans: RowPlan[];
	/** Rows of the batch: backgroundRows + Σ (1 + coalitions × backgroundRows). */
	batchRows: number;
}

/** Same value, NaN equal to NaN (a missing value is the same missing value). */
function same(a: unknown, b: unknown): boolean {
	return a === b || (a !== a && b !== b);
}

/** Plans every row's coalitions; `x` is [rows × features], `background` [backgroundRows × features]. */
export function planKernelShap(
	x: TensorData,
	background: TensorData,
	rows: number,
	features: number,
	options: KernelShapOptions,
): KernelShapJob {
	const backgroundRows = features === 0 ? 0 : background.length / features;
	if (!Number.isInteger(backgroundRows) || backgroundRows < 1)
		throw new RangeError(`the background has no rows of ${features} values`);
	const plans: RowPlan[] = [];
	let batchRows = backgroundRows;
	for (let r = 0; r < rows; r++) {
		const varying: number[] = [];
		for (let j = 0; j < features; j++) {
			const v = x[r * features + j];
			for (let b = 0; b < backgroundRows; b++)
				if (!same(background[b * features + j], v)) {
					varying.push(j);
					break;
				}
		}
		// Rows with the same number of varying features share one plan (same seed, same draws).
		const plan =
			plans.find(p => p.plan.features === varying.length)?.plan ??
			planCoalitions(varying.length, options.nsamples, options.seed);
		plans.push({ varying: Int32Array.from(varying), plan });
		batchRows += 1 + plan.count * backgroundRows;
	}
	return { rows, features, backgroundRows, x, background, plans, batchRows };
}

type Writable = { [i: number]: unknown; length: number };

function allocate(like: TensorData, length: number): TensorData {
	if (Array.isArray(like)) return new Array<string>(length).fill("");
	const ctor = like.constructor as new (length: number) => TensorData;
	return new ctor(length);
}

/** Copies `count` rows of `m` values from row `fromRow` of `from` to row `toRow` of `to`. */
function copyRows(
	from: TensorData,
	fromRow: number,
	count: number,
	to: TensorData,
	toRow: number,
	m: number,
): void {
	if (Array.isArray(from)) {
		for (let i = 0; i < count * m; i++) (to as string[])[toRow * m + i] = from[fromRow * m + i];
		return;
	}
	const typed = from as Float64Array;
	const source =
		fromRow === 0 && count * m === typed.length
			? typed
			: typed.subarray(fromRow * m, (fromRow + count) * m);
	(to as Float64Array).set(source, toRow * m);
}

/** Every evaluation as one [batchRows × features] array of the inputs' datatype. */
export function kernelShapBatch(job: KernelShapJob): TensorData {
	const m = job.features;
	const n = job.backgroundRows;
	const out = allocate(job.x, job.batchRows * m);
	const write = out as unknown as Writable;
	const x = job.x as unknown as ArrayLike<unknown>;
	const block = n * m;
	let at = 0;
	copyRows(job.background, 0, n, out, at, m);
	at += n;
	for (let r = 0; r < job.rows; r++) {
		copyRows(job.x, r, 1, out, at++, m);
		const { varying, plan } = job.plans[r];
		const k = plan.features;
		for (let s = 0; s < plan.count; s++) {
			// The whole background at once, then x's values in the coalition's columns.
			copyRows(job.background, 0, n, out, at, m);
			const base = at * m;
			for (let i = 0; i < k; i++) {
				if (plan.masks[s * k + i] !== 1) continue;
				const j = varying[i];
				const v = x[r * m + j];
				for (let p = base + j; p < base + block; p += m) write[p] = v;
			}
			at += n;
		}
	}
	return out;
}

export interface RowShap {
	/** f(x) per output. */
	output: Float64Array;
	/** [outputs × features]; 0 for features x shares with every background row. */
	contributions: Float64Array;
	exact: boolean;
	/** Coalitions evaluated for the row. */
	coalitions: number;
}

export interface KernelShapResult {
	/** E[f(background)] per output: every row's base value. */
	base: Float64Array;
	rows: RowShap[];
}

/**
 * SHAP values from the model's outputs for the batch: `outputs` is [batchRows × width]
 * (row-major, any numeric array) with the explained outputs at `columns` of each row.
 */
export function kernelShapResults(
	job: KernelShapJob,
	outputs: ArrayLike<number>,
	width: number,
	columns: readonly number[],
): KernelShapResult {
	const n = job.backgroundRows;
	const k = columns.length;
	/** Sums `count` rows' explained outputs from row `from` into `into` at `offset`. */
	const sumRows = (from: number, count: number, into: Float64Array, offset: number): void => {
		for (let c = 0; c < k; c++) {
			let sum = 0;
			for (let p = from * width + columns[c], end = p + count * width; p < end; p += width)
				sum += outputs[p];
			into[offset + c] = sum;
		}
	};
	const base = new Float64Array(k);
	sumRows(0, n, base, 0);
	for (let c = 0; c < k; c++) base[c] /= n;
	let at = n;
	const rows = job.plans.map(({ varying, plan }) => {
		const output = new Float64Array(k);
		sumRows(at++, 1, output, 0);
		const means = new Float64Array(plan.count * k);
		for (let s = 0; s < plan.count; s++, at += n) {
			sumRows(at, n, means, s * k);
			for (let c = 0; c < k; c++) means[s * k + c] /= n;
		}
		const phi = kernelShapValues(plan, means, output, base);
		const contributions = new Float64Array(k * job.features);
		for (let c = 0; c < k; c++)
			for (let i = 0; i < varying.length; i++)
				contributions[c * job.features + varying[i]] = phi[c * plan.features + i];
		return { output, contributions, exact: plan.exact, coalitions: plan.count };
	});
	return { base, rows };
}
