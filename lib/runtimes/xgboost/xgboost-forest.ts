/**
 * Our own walker for XGBoost tree ensembles (gbtree and dart), over flat typed arrays: every
 * node of every tree is one index into the same arrays, with no per-node objects. Sums are kept
 * in float32 in tree order, as XGBoost's CPU predictor keeps them, so predictions match its own.
 *
 * No Node APIs and no module state: the arrays (`XgboostForestArrays`) are plain data that
 * cross to a worker thread by structured clone, where `new XgboostForest(arrays)` runs them.
 */
import type { XgboostJsonModel } from "./xgboost-json-model";
import { baseMargin, predictionsOfMargins } from "./xgboost-objectives";

/** Everything the walker needs, as plain data. Node indices are global across trees. */
export interface XgboostForestArrays {
	objective: string;
	numFeatures: number;
	/** Output groups: classes for multi:*, else targets (usually 1). */
	numGroups: number;
	/** The margin each group starts from (base_score through the objective's link). */
	baseMargins: Float32Array;
	/** Per tree: its root node and the group it adds to. */
	treeRoots: Int32Array;
	treeGroups: Int32Array;
	/**
	 * Per node: its left child, or -1 on leaves. The right child is always left + 1 (nodes are
	 * laid out breadth-first, children side by side), so a step is `left + (value >= threshold)`.
	 */
	left: Int32Array;
	/** Per node: 1 where a missing value (NaN) goes left, 0 where it goes right. */
	defaultLeft: Uint8Array;
	/** Per node: the feature a split tests. */
	feature: Int32Array;
	/** Per node: the split threshold (left when value < it), or on a leaf its value × tree weight. */
	value: Float32Array;
	/**
	 * Categorical splits: node n sends the categories categories[catBegin[n] … catEnd[n]) right,
	 * other categories left; catBegin is -1 on numerical splits. All empty without categorical splits.
	 */
	catBegin: Int32Array;
	catEnd: Int32Array;
	categories: Int32Array;
}

/** Rows walked together through one tree before the next: their nodes stay in cache. */
const BLOCK_ROWS = 64;

/** Categories above this are not categories (XGBoost's InvalidCat: beyond float's exact integers). */
const MAX_CATEGORY = 2 ** 24;

/**
 * What this walker cannot run in a model readXgboostJsonModel accepted, or undefined.
 */
export function unsupportedXgboostFeature(model: XgboostJsonModel): string | undefined {
	const groups = numGroupsOf(model);
	if (model.baseScore.length !== 1 && model.baseScore.length !== groups)
		return `base_score has ${model.baseScore.length} values for ${groups} output groups`;
	const vectorLeaf = model.trees.findIndex(tree => tree.baseWeights.length !== tree.numNodes);
	if (vectorLeaf >= 0)
		return `tree ${vectorLeaf} has vector leaves (multi_strategy="multi_output_tree"), which modelfleet does not run; train with multi_strategy="one_output_per_tree"`;
	return undefined;
}

function numGroupsOf(model: XgboostJsonModel): number {
	return model.objective.startsWith("multi:") ? model.numClass : model.numTarget;
}

/**
 * Lays a checked model out as flat arrays, each tree breadth-first from its root. Leaf values
 * and thresholds are rounded to float32 (XGBoost stores them so, and prints them in full); a
 * dart tree's leaves carry its weight.
 * @throws TypeError when unsupportedXgboostFeature(model) says why it cannot run
 */
export function compileXgboostForest(model: XgboostJsonModel): XgboostForestArrays {
	const unsupported = unsupportedXgboostFeature(model);
	if (unsupported !== undefined) throw new TypeError(unsupported);
	const numGroups = numGroupsOf(model);
	const totalNodes = model.trees.reduce((n, tree) => n + tree.numNodes, 0);
	const hasCategorical = model.trees.some(tree => tree.categoriesNodes.length > 0);
	const arrays: XgboostForestArrays = {
		objective: model.objective,
		numFeatures: model.numFeatures,
		numGroups,
		baseMargins: Float32Array.from({ length: numGroups }, (_, g) =>
			baseMargin(model.objective, model.baseScore[model.baseScore.length === 1 ? 0 : g]),
		),
		treeRoots: new Int32Array(model.trees.length),
		treeGroups: Int32Array.from(model.treeInfo),
		left: new Int32Array(totalNodes),
		defaultLeft: new Uint8Array(totalNodes),
		feature: new Int32Array(totalNodes),
		value: new Float32Array(totalNodes),
		catBegin: new Int32Array(hasCategorical ? totalNodes : 0).fill(-1),
		catEnd: new Int32Array(hasCategorical ? totalNodes : 0),
		categories: new Int32Array(
			model.trees.reduce((n, tree) => n + tree.categoriesSizes.reduce((a, b) => a + b, 0), 0),
		),
	};
	let next = 0;
	let catOffset = 0;
	model.trees.forEach((tree, t) => {
		const weight = Math.fround(model.weightDrop?.[t] ?? 1);
		const categoriesOf = new Map(tree.categoriesNodes.map((node, k) => [node, k]));
		// Breadth-first: `order` holds the tree's node ids in their new places from `first` on.
		const first = next;
		const order = [0];
		arrays.treeRoots[t] = next++;
		for (let k = 0; k < order.length; k++) {
			const id = order[k];
			const n = first + k;
			if (tree.leftChildren[id] === -1) {
				arrays.left[n] = -1;
				arrays.value[n] = Math.fround(tree.splitConditions[id]) * weight;
				continue;
			}
			arrays.left[n] = next;
			next += 2;
			order.push(tree.leftChildren[id], tree.rightChildren[id]);
			arrays.defaultLeft[n] = tree.defaultLeft[id] ? 1 : 0;
			arrays.feature[n] = tree.splitIndices[id];
			arrays.value[n] = tree.splitConditions[id];
			const c = categoriesOf.get(id);
			if (c !== undefined) {
				const begin = tree.categoriesSegments[c];
				const size = tree.categoriesSizes[c];
				arrays.categories.set(tree.categories.slice(begin, begin + size), catOffset);
				arrays.catBegin[n] = catOffset;
				arrays.catEnd[n] = catOffset + size;
				catOffset += size;
			}
		}
	});
	return arrays;
}

export class XgboostForest {
	readonly objective: string;
	readonly numFeatures: number;
	readonly numGroups: number;
	/** Bytes the arrays hold. */
	readonly byteLength: number;
	private readonly a: XgboostForestArrays;
	private readonly hasCategorical: boolean;

	constructor(arrays: XgboostForestArrays) {
		this.a = arrays;
		this.objective = arrays.objective;
		this.numFeatures = arrays.numFeatures;
		this.numGroups = arrays.numGroups;
		this.hasCategorical = arrays.catBegin.length > 0;
		this.byteLength = Object.values(arrays).reduce(
			(n: number, v: unknown) => n + (ArrayBuffer.isView(v) ? v.byteLength : 0),
			0,
		);
	}

	static fromModel(model: XgboostJsonModel): XgboostForest {
		return new XgboostForest(compileXgboostForest(model));
	}

	/**
	 * What Booster.predict gives for `rows` rows of `numFeatures` float32 values (row-major,
	 * NaN for missing): [rows] or [rows × groups] values, as the objective shapes them
	 * (see predictionsOfMargins).
	 */
	predict(x: Float32Array, rows: number): Float32Array {
		return predictionsOfMargins(this.objective, this.margins(x, rows), rows, this.numGroups);
	}

	/** What Booster.predict(output_margin=True) gives: [rows × groups], row-major. */
	margins(x: Float32Array, rows: number): Float32Array {
		if (x.length !== rows * this.numFeatures)
			throw new RangeError(
				`${x.length} values are not ${rows} rows of ${this.numFeatures} features`,
			);
		const groups = this.numGroups;
		const out = new Float32Array(rows * groups);
		const { baseMargins } = this.a;
		for (let r = 0; r < rows; r++) out.set(baseMargins, r * groups);
		for (let start = 0; start < rows; start += BLOCK_ROWS) {
			const end = Math.min(rows, start + BLOCK_ROWS);
			if (this.hasCategorical) this.walkBlockWithCategories(x, out, start, end);
			else this.walkBlock(x, out, start, end);
		}
		return out;
	}

	/** The hot loop: numerical splits only. `out` is float32, so each += rounds as XGBoost's. */
	private walkBlock(x: Float32Array, out: Float32Array, start: number, end: number): void {
		const { treeRoots, treeGroups, left, defaultLeft, feature, value } = this.a;
		const nf = this.numFeatures;
		const groups = this.numGroups;
		for (let t = 0; t < treeRoots.length; t++) {
			const root = treeRoots[t];
			const group = treeGroups[t];
			for (let r = start; r < end; r++) {
				const row = r * nf;
				let n = root;
				let l: number;
				while ((l = left[n]) !== -1) {
					const v = x[row + feature[n]];
					// Right is left + 1: adding the comparison spares a hard-to-predict branch.
					n = v !== v ? l + 1 - defaultLeft[n] : l + +(v >= value[n]);
				}
				out[r * groups + group] += value[n];
			}
		}
	}

	/** As walkBlock, with XGBoost's categorical decision: listed categories go right. */
	private walkBlockWithCategories(
		x: Float32Array,
		out: Float32Array,
		start: number,
		end: number,
	): void {
		const { treeRoots, treeGroups, left, defaultLeft, feature, value } = this.a;
		const { catBegin, catEnd, categories } = this.a;
		const nf = this.numFeatures;
		const groups = this.numGroups;
		for (let t = 0; t < treeRoots.length; t++) {
			const root = treeRoots[t];
			const group = treeGroups[t];
			for (let r = start; r < end; r++) {
				const row = r * nf;
				let n = root;
				let l: number;
				while ((l = left[n]) !== -1) {
					const v = x[row + feature[n]];
					const begin = catBegin[n];
					if (v !== v) {
						n = l + 1 - defaultLeft[n];
					} else if (begin < 0) {
						n = l + +(v >= value[n]);
					} else {
						// Negative or huge values are no category: left, as XGBoost 2.x decides.
						let goRight = 0;
						if (v >= 0 && v < MAX_CATEGORY) {
							const category = Math.trunc(v);
							for (let k = begin; k < catEnd[n]; k++) {
								if (categories[k] === category) {
									goRight = 1;
									break;
								}
							}
						}
						n = l + goRight;
					}
				}
				out[r * groups + group] += value[n];
			}
		}
	}
}
