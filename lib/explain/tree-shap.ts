/**
 * Exact path-dependent TreeSHAP (Lundberg et al. 2020, "From local explanations to global
 * understanding with explainable AI for trees", Algorithm 2) for XGBoost tree ensembles: what
 * XGBoost's `predict(pred_contribs=True)` computes. Per row and output group, one SHAP value per
 * feature plus the bias (the base margin plus each tree's cover-weighted mean leaf value); they
 * add up to the row's margin.
 *
 * It follows XGBoost's RegTree::TreeShap step for step: the root's path element has feature -1,
 * a node's fractions are its children's covers (`sum_hessian`) over its own, a missing value
 * (NaN) takes the split's default direction as the "hot" branch, and a feature met again on a
 * path is unwound first and extended again with the product of its fractions. Arithmetic is in
 * float64 where XGBoost uses float32, so values agree to about 1e-6 of the margin's size.
 *
 * Pure: no Node APIs and no module state.
 */
import type { XgboostJsonModel } from "../runtimes/xgboost/xgboost-json-model";
import { baseMargin } from "../runtimes/xgboost/xgboost-objectives";

/** Categories above this are not categories (as the tree walker decides). */
const MAX_CATEGORY = 2 ** 24;

export interface TreeShapArrays {
	numFeatures: number;
	/** Output groups: classes for multi:*, else targets. */
	numGroups: number;
	/** The margin each group starts from (base_score through the objective's link). */
	baseMargins: Float64Array;
	/** Per tree: its root (a global node index), its output group and its depth. */
	treeRoots: Int32Array;
	treeGroups: Int32Array;
	treeDepths: Int32Array;
	/** Per node (global index): children, or -1 on leaves. */
	left: Int32Array;
	right: Int32Array;
	defaultLeft: Uint8Array;
	feature: Int32Array;
	/** Split threshold (float32): a value below it goes left. */
	threshold: Float32Array;
	/** On leaves: the leaf value (float32) times the tree's weight (dart). */
	leafValue: Float64Array;
	/** The node's cover (sum of hessians), the weight of its subtree in the expectation. */
	cover: Float64Array;
	/** The cover-weighted mean of the leaf values under the node. */
	meanValue: Float64Array;
	/** Categorical splits, as the tree walker keeps them: listed categories go right. */
	catBegin: Int32Array;
	catEnd: Int32Array;
	categories: Int32Array;
}

function numGroupsOf(model: XgboostJsonModel): number {
	return model.objective.startsWith("multi:") ? model.numClass : model.numTarget;
}

/**
 * The ensemble as flat arrays with covers and mean values.
 * @throws TypeError when the model has no covers (`sum_hessian`) or has vector leaves
 */
export function compileTreeShap(model: XgboostJsonModel): TreeShapArrays {
	const numGroups = numGroupsOf(model);
	const total = model.trees.reduce((n, tree) => n + tree.numNodes, 0);
	const hasCategorical = model.trees.some(tree => tree.categoriesNodes.length > 0);
	const a: TreeShapArrays = {
		numFeatures: model.numFeatures,
		numGroups,
		baseMargins: Float64Array.from({ length: numGroups }, (_, g) =>
			baseMargin(model.objective, model.baseScore[model.baseScore.length === 1 ? 0 : g]),
		),
		treeRoots: new Int32Array(model.trees.length),
		treeGroups: Int32Array.from(model.treeInfo),
		treeDepths: new Int32Array(model.trees.length),
		left: new Int32Array(total),
		right: new Int32Array(total),
		defaultLeft: new Uint8Array(total),
		feature: new Int32Array(total),
		threshold: new Float32Array(total),
		leafValue: new Float64Array(total),
		cover: new Float64Array(total),
		meanValue: new Float64Array(total),
		catBegin: new Int32Array(hasCategorical ? total : 0).fill(-1),
		catEnd: new Int32Array(hasCategorical ? total : 0),
		categories: Int32Array.from(model.trees.flatMap(tree => tree.categories)),
	};
	let offset = 0;
	let catOffset = 0;
	model.trees.forEach((tree, t) => {
		if (tree.sumHessian.length !== tree.numNodes)
			throw new TypeError(
				`tree ${t} has no node covers (sum_hessian), which TreeSHAP needs; save the model with XGBoost's save_model (JSON)`,
			);
		if (tree.baseWeights.length !== tree.numNodes)
			throw new TypeError(
				`tree ${t} has vector leaves, which TreeSHAP here does not explain`,
			);
		const weight = Math.fround(model.weightDrop?.[t] ?? 1);
		a.treeRoots[t] = offset;
		for (let id = 0; id < tree.numNodes; id++) {
			const n = offset + id;
			const leaf = tree.leftChildren[id] === -1;
			a.left[n] = leaf ? -1 : offset + tree.leftChildren[id];
			a.right[n] = leaf ? -1 : offset + tree.rightChildren[id];
			a.defaultLeft[n] = tree.defaultLeft[id] ? 1 : 0;
			a.feature[n] = leaf ? -1 : tree.splitIndices[id];
			a.threshold[n] = tree.splitConditions[id];
			a.leafValue[n] = leaf ? Math.fround(tree.splitConditions[id]) * weight : 0;
			a.cover[n] = Math.fround(tree.sumHessian[id]);
		}
		tree.categoriesNodes.forEach((node, k) => {
			a.catBegin[offset + node] = catOffset + tree.categoriesSegments[k];
			a.catEnd[offset + node] =
				catOffset + tree.categoriesSegments[k] + tree.categoriesSizes[k];
		});
		catOffset += tree.categories.length;
		a.treeDepths[t] = fillMeanValues(a, offset);
		offset += tree.numNodes;
	});
	return a;
}

/**
 * Mean values bottom-up (XGBoost's FillNodeMeanValue: children weighted by their covers over the
 * node's own cover); returns the tree's depth (edges on its longest root-to-leaf path).
 */
function fillMeanValues(a: TreeShapArrays, root: number): number {
	const order = [root];
	const depth = new Map<number, number>([[root, 0]]);
	let maxDepth = 0;
	for (let k = 0; k < order.length; k++) {
		const n = order[k];
		if (a.left[n] === -1) continue;
		const d = (depth.get(n) as number) + 1;
		maxDepth = Math.max(maxDepth, d);
		for (const child of [a.left[n], a.right[n]]) {
			depth.set(child, d);
			order.push(child);
		}
	}
	for (let k = order.length - 1; k >= 0; k--) {
		const n = order[k];
		const l = a.left[n];
		if (l === -1) {
			a.meanValue[n] = a.leafValue[n];
			continue;
		}
		const r = a.right[n];
		a.meanValue[n] =
			(a.meanValue[l] * a.cover[l] + a.meanValue[r] * a.cover[r]) / coverOf(a.cover[n]);
	}
	return maxDepth;
}

/**
 * XGBoost divides by the cover as it is; a zero cover (never written by training, whose
 * min_child_weight keeps covers positive) would give NaN there, and here counts as 1.
 */
function coverOf(cover: number): number {
	return cover > 0 ? cover : 1;
}

/**
 * One ensemble's TreeSHAP, with its path scratch space allocated once: an instance explains one
 * row at a time, so use one per thread (or per request).
 */
export class TreeShap {
	readonly numFeatures: number;
	readonly numGroups: number;
	private readonly a: TreeShapArrays;
	private readonly hasCategorical: boolean;
	// The unique path of every recursion level, one frame after another (XGBoost's layout).
	private readonly pathFeature: Int32Array;
	private readonly pathZero: Float64Array;
	private readonly pathOne: Float64Array;
	private readonly pathWeight: Float64Array;
	// Per explained row: its values and where its contributions go.
	private x: ArrayLike<number> = [];
	private phi: Float64Array = new Float64Array(0);
	private phiOffset = 0;

	constructor(arrays: TreeShapArrays) {
		this.a = arrays;
		this.numFeatures = arrays.numFeatures;
		this.numGroups = arrays.numGroups;
		this.hasCategorical = arrays.catBegin.length > 0;
		const maxd = Math.max(0, ...arrays.treeDepths) + 2;
		const size = ((maxd + 1) * (maxd + 2)) / 2;
		this.pathFeature = new Int32Array(size);
		this.pathZero = new Float64Array(size);
		this.pathOne = new Float64Array(size);
		this.pathWeight = new Float64Array(size);
	}

	static fromModel(model: XgboostJsonModel): TreeShap {
		return new TreeShap(compileTreeShap(model));
	}

	/** Values per group and row: numFeatures contributions, then the bias. */
	get width(): number {
		return this.numFeatures + 1;
	}

	/**
	 * SHAP values of `rows` rows of `numFeatures` values (row-major, NaN for missing; values are
	 * rounded to float32 as XGBoost's DMatrix stores them): [rows × groups × (numFeatures + 1)],
	 * the last value of each group the bias.
	 */
	explain(x: ArrayLike<number>, rows: number): Float64Array {
		const nf = this.numFeatures;
		if (x.length !== rows * nf)
			throw new RangeError(`${x.length} values are not ${rows} rows of ${nf} features`);
		const out = new Float64Array(rows * this.numGroups * this.width);
		const row = new Float32Array(nf);
		for (let r = 0; r < rows; r++) {
			for (let j = 0; j < nf; j++) row[j] = x[r * nf + j];
			this.explainRowInto(row, out, r * this.numGroups * this.width);
		}
		return out;
	}

	/** The margins the trees give the rows, summed in float32 as XGBoost does: [rows × groups]. */
	margins(x: ArrayLike<number>, rows: number): Float32Array {
		const nf = this.numFeatures;
		const groups = this.numGroups;
		const out = new Float32Array(rows * groups);
		const row = new Float32Array(nf);
		const { treeRoots, treeGroups, baseMargins } = this.a;
		for (let r = 0; r < rows; r++) {
			for (let j = 0; j < nf; j++) row[j] = x[r * nf + j];
			for (let g = 0; g < groups; g++) out[r * groups + g] = baseMargins[g];
			for (let t = 0; t < treeRoots.length; t++) {
				let n = treeRoots[t];
				while (this.a.left[n] !== -1) n = this.next(n, row);
				out[r * groups + treeGroups[t]] += this.a.leafValue[n];
			}
		}
		return out;
	}

	private explainRowInto(row: Float32Array, out: Float64Array, at: number): void {
		const { treeRoots, treeGroups, meanValue, baseMargins } = this.a;
		const width = this.width;
		this.x = row;
		this.phi = out;
		for (let g = 0; g < this.numGroups; g++)
			out[at + g * width + this.numFeatures] = baseMargins[g];
		for (let t = 0; t < treeRoots.length; t++) {
			const root = treeRoots[t];
			this.phiOffset = at + treeGroups[t] * width;
			out[this.phiOffset + this.numFeatures] += meanValue[root];
			// The root's frame starts one past the buffer's start, as in XGBoost.
			this.recurse(root, 0, 0, 1, 1, -1);
		}
	}

	/** The child a row goes to: the default one for a missing value. */
	private next(n: number, row: ArrayLike<number>): number {
		const a = this.a;
		const v = row[a.feature[n]];
		if (v !== v) return a.defaultLeft[n] ? a.left[n] : a.right[n];
		const begin = this.hasCategorical ? a.catBegin[n] : -1;
		if (begin < 0) return v < a.threshold[n] ? a.left[n] : a.right[n];
		if (v >= 0 && v < MAX_CATEGORY) {
			const category = Math.trunc(v);
			for (let k = begin; k < a.catEnd[n]; k++)
				if (a.categories[k] === category) return a.right[n];
		}
		return a.left[n];
	}

	/** RegTree::TreeShap. `parent` is where the parent's path frame starts. */
	private recurse(
		node: number,
		uniqueDepth: number,
		parent: number,
		parentZero: number,
		parentOne: number,
		parentFeature: number,
	): void {
		const a = this.a;
		const pf = this.pathFeature;
		const pz = this.pathZero;
		const po = this.pathOne;
		const pw = this.pathWeight;
		const path = parent + uniqueDepth + 1;
		for (let i = 0; i <= uniqueDepth; i++) {
			pf[path + i] = pf[parent + i];
			pz[path + i] = pz[parent + i];
			po[path + i] = po[parent + i];
			pw[path + i] = pw[parent + i];
		}
		this.extendPath(path, uniqueDepth, parentZero, parentOne, parentFeature);

		if (a.left[node] === -1) {
			const value = a.leafValue[node];
			for (let i = 1; i <= uniqueDepth; i++) {
				const w = this.unwoundPathSum(path, uniqueDepth, i);
				this.phi[this.phiOffset + pf[path + i]] +=
					w * (po[path + i] - pz[path + i]) * value;
			}
			return;
		}

		const split = a.feature[node];
		const hot = this.next(node, this.x);
		const cold = hot === a.left[node] ? a.right[node] : a.left[node];
		const w = coverOf(a.cover[node]);
		const hotZero = a.cover[hot] / w;
		const coldZero = a.cover[cold] / w;
		let incomingZero = 1;
		let incomingOne = 1;
		// A feature already on the path is unwound, to be extended again below.
		let k = 0;
		while (k <= uniqueDepth && pf[path + k] !== split) k++;
		if (k <= uniqueDepth) {
			incomingZero = pz[path + k];
			incomingOne = po[path + k];
			this.unwindPath(path, uniqueDepth, k);
			uniqueDepth -= 1;
		}
		this.recurse(hot, uniqueDepth + 1, path, hotZero * incomingZero, incomingOne, split);
		this.recurse(cold, uniqueDepth + 1, path, coldZero * incomingZero, 0, split);
	}

	/** ExtendPath: adds an element and updates the permutation weights. */
	private extendPath(
		path: number,
		uniqueDepth: number,
		zero: number,
		one: number,
		feature: number,
	): void {
		const pw = this.pathWeight;
		this.pathFeature[path + uniqueDepth] = feature;
		this.pathZero[path + uniqueDepth] = zero;
		this.pathOne[path + uniqueDepth] = one;
		pw[path + uniqueDepth] = uniqueDepth === 0 ? 1 : 0;
		for (let i = uniqueDepth - 1; i >= 0; i--) {
			pw[path + i + 1] += (one * pw[path + i] * (i + 1)) / (uniqueDepth + 1);
			pw[path + i] = (zero * pw[path + i] * (uniqueDepth - i)) / (uniqueDepth + 1);
		}
	}

	/** UnwindPath: undoes the extension of element `index`. */
	private unwindPath(path: number, uniqueDepth: number, index: number): void {
		const pw = this.pathWeight;
		const one = this.pathOne[path + index];
		const zero = this.pathZero[path + index];
		let nextOnePortion = pw[path + uniqueDepth];
		for (let i = uniqueDepth - 1; i >= 0; i--) {
			if (one !== 0) {
				const tmp = pw[path + i];
				pw[path + i] = (nextOnePortion * (uniqueDepth + 1)) / ((i + 1) * one);
				nextOnePortion =
					tmp - (pw[path + i] * zero * (uniqueDepth - i)) / (uniqueDepth + 1);
			} else {
				pw[path + i] = (pw[path + i] * (uniqueDepth + 1)) / (zero * (uniqueDepth - i));
			}
		}
		for (let i = index; i < uniqueDepth; i++) {
			this.pathFeature[path + i] = this.pathFeature[path + i + 1];
			this.pathZero[path + i] = this.pathZero[path + i + 1];
			this.pathOne[path + i] = this.pathOne[path + i + 1];
		}
	}

	/** UnwoundPathSum: the total permutation weight were element `index` unwound. */
	private unwoundPathSum(path: number, uniqueDepth: number, index: number): number {
		const pw = this.pathWeight;
		const one = this.pathOne[path + index];
		const zero = this.pathZero[path + index];
		let nextOnePortion = pw[path + uniqueDepth];
		let total = 0;
		for (let i = uniqueDepth - 1; i >= 0; i--) {
			if (one !== 0) {
				const tmp = (nextOnePortion * (uniqueDepth + 1)) / ((i + 1) * one);
				total += tmp;
				nextOnePortion =
					pw[path + i] - tmp * zero * ((uniqueDepth - i) / (uniqueDepth + 1));
			} else if (zero !== 0) {
				total += pw[path + i] / zero / ((uniqueDepth - i) / (uniqueDepth + 1));
			}
		}
		return total;
	}
}
