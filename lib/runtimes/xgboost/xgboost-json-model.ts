/**
 * Reads and checks the JSON that XGBoost's Booster.save_model writes (1.x to 3.x), into typed
 * trees a tree walker can trust: every array as long as the tree says, every child index in
 * range, no cycles, every split on a feature the model has.
 */
import { InvalidModelFileError } from "../../errors";
import type { ModelSchema, TensorSpec } from "../../model-spec/model-schema";

const LABEL = "XGBoost JSON";

export interface XgboostTree {
	numNodes: number;
	/** Child node ids; -1 on leaves (both children). */
	leftChildren: number[];
	rightChildren: number[];
	/** Feature index each split tests. */
	splitIndices: number[];
	/** Split threshold (go left when value < condition); on a leaf, the leaf's value. */
	splitConditions: number[];
	/** Where a missing value goes. */
	defaultLeft: boolean[];
	baseWeights: number[];
	/** 0 numerical, 1 categorical, per node (all 0 when the file has none). */
	splitType: number[];
	/** Categorical splits: for node categoriesNodes[k], categories[segments[k] … +sizes[k]] go right. */
	categories: number[];
	categoriesNodes: number[];
	categoriesSegments: number[];
	categoriesSizes: number[];
	/** Per node, the training rows' hessian sum that reached it (its cover); [] when the file has none. */
	sumHessian: number[];
}

export interface XgboostJsonModel {
	/** "2.1.4"; undefined when the file does not say. */
	version?: string;
	booster: "gbtree" | "dart";
	objective: string;
	numFeatures: number;
	/** learner_model_param.num_class: > 0 only for multi:* objectives. */
	numClass: number;
	/** learner_model_param.num_target (1 unless multi-output regression). */
	numTarget: number;
	/** One per target/class, in probability space (before the link function). */
	baseScore: number[];
	featureNames: string[];
	featureTypes: string[];
	trees: XgboostTree[];
	/** The output group (class or target) each tree adds to. */
	treeInfo: number[];
	/** dart: each tree's weight. */
	weightDrop?: number[];
}

/** Objectives the runtime knows the output transform of. */
export const XGBOOST_OBJECTIVES = [
	"reg:squarederror",
	"reg:linear",
	"reg:squaredlogerror",
	"reg:logistic",
	"reg:pseudohubererror",
	"reg:absoluteerror",
	"reg:quantileerror",
	"reg:gamma",
	"reg:tweedie",
	"count:poisson",
	"binary:logistic",
	"binary:logitraw",
	"binary:hinge",
	"multi:softmax",
	"multi:softprob",
	"rank:pairwise",
	"rank:ndcg",
	"rank:map",
	"survival:cox",
	"survival:aft",
] as const;

function fail(reason: string): never {
	throw new InvalidModelFileError(LABEL, reason);
}

type Json = Record<string, unknown>;

function object(value: unknown, where: string): Json {
	if (typeof value !== "object" || value === null || Array.isArray(value))
		fail(`${where} is missing or not an object`);
	return value as Json;
}

function array(value: unknown, where: string): unknown[] {
	if (!Array.isArray(value)) fail(`${where} is missing or not an array`);
	return value;
}

function numbers(value: unknown, where: string): number[] {
	const list = array(value, where);
	for (let i = 0; i < list.length; i++) {
		if (typeof list[i] !== "number") fail(`${where}[${i}] is not a number`);
	}
	return list as number[];
}

function optionalNumbers(value: unknown, where: string): number[] {
	return value === undefined ? [] : numbers(value, where);
}

/** XGBoost writes parameters as strings ("4", "5E-1"). */
function parameter(value: unknown, where: string): number {
	const n = typeof value === "string" ? Number(value) : value;
	if (typeof n !== "number" || !Number.isFinite(n)) fail(`${where} is not a number`);
	return n;
}

function count(value: unknown, where: string): number {
	const n = parameter(value, where);
	if (!Number.isInteger(n) || n < 0) fail(`${where} is not a count (a whole number ≥ 0)`);
	return n;
}

/** "5E-1" (1.x, 2.x) or "[5E-1,3E-1]" (3.x, one per target). */
function baseScores(value: unknown, where: string): number[] {
	if (typeof value === "string" && value.startsWith("["))
		return value
			.slice(1, -1)
			.split(",")
			.map((part, i) => parameter(part.trim(), `${where}[${i}]`));
	return [parameter(value, where)];
}

/** The learner's objective; one modelfleet runs, with the classes a multi-class one needs. */
function readObjective(learner: Json, numClass: number): string {
	const objective = object(learner.objective, "learner.objective").name;
	if (typeof objective !== "string") fail("learner.objective.name is missing");
	if (!(XGBOOST_OBJECTIVES as readonly string[]).includes(objective))
		fail(`objective '${objective}' is not one modelfleet can run`);
	if (objective.startsWith("multi:") && numClass < 2)
		fail(`objective ${objective} needs learner_model_param.num_class ≥ 2, not ${numClass}`);
	return objective;
}

/** The tree model of a gbtree or dart booster, with dart's tree weights. */
function boosterModel(booster: Json): { model: Json; weightDrop: number[] | undefined } {
	if (booster.name === "gbtree")
		return { model: object(booster.model, "gradient_booster.model"), weightDrop: undefined };
	if (booster.name === "dart") {
		const inner = object(booster.gbtree, "gradient_booster.gbtree");
		const model = object(inner.model, "gradient_booster.gbtree.model");
		const weightDrop = numbers(booster.weight_drop, "gradient_booster.weight_drop");
		return { model, weightDrop };
	}
	fail(
		`booster '${String(booster.name)}' is not supported; modelfleet runs tree boosters (gbtree, dart)`,
	);
}

/** The feature names and types: lists of strings, empty or one per feature. */
function readFeatureLists(
	learner: Json,
	numFeatures: number,
): { featureNames: string[]; featureTypes: string[] } {
	const featureNames = (learner.feature_names ?? []) as unknown[];
	const featureTypes = (learner.feature_types ?? []) as unknown[];
	for (const [list, where] of [
		[featureNames, "learner.feature_names"],
		[featureTypes, "learner.feature_types"],
	] as const) {
		if (!Array.isArray(list) || list.some(name => typeof name !== "string"))
			fail(`${where} is not a list of strings`);
		if (list.length !== 0 && list.length !== numFeatures)
			fail(`${where} has ${list.length} entries for ${numFeatures} features`);
	}
	return { featureNames: featureNames as string[], featureTypes: featureTypes as string[] };
}

/** @throws InvalidModelFileError saying which part of the document is wrong */
export function readXgboostJsonModel(document: unknown): XgboostJsonModel {
	const root = object(document, "the document");
	if (!("learner" in root)) fail('the document has no "learner" object (not a saved Booster)');
	const learner = object(root.learner, "learner");
	const params = object(learner.learner_model_param, "learner.learner_model_param");
	const numFeatures = count(params.num_feature, "learner_model_param.num_feature");
	const numClass = count(params.num_class ?? "0", "learner_model_param.num_class");
	const numTarget = Math.max(
		1,
		count(params.num_target ?? "1", "learner_model_param.num_target"),
	);
	const objective = readObjective(learner, numClass);

	const booster = object(learner.gradient_booster, "learner.gradient_booster");
	const { model, weightDrop } = boosterModel(booster);

	const trees = array(model.trees, "gradient_booster.model.trees").map((tree, i) =>
		readTree(tree, `trees[${i}]`, numFeatures),
	);
	const declared = object(model.gbtree_model_param, "model.gbtree_model_param").num_trees;
	if (declared !== undefined && count(declared, "gbtree_model_param.num_trees") !== trees.length)
		fail(
			`gbtree_model_param.num_trees says ${String(declared)} but ${trees.length} trees follow`,
		);
	const groups = objective.startsWith("multi:") ? numClass : numTarget;
	const treeInfo = numbers(model.tree_info, "gradient_booster.model.tree_info");
	if (treeInfo.length !== trees.length)
		fail(`tree_info has ${treeInfo.length} entries for ${trees.length} trees`);
	treeInfo.forEach((group, i) => {
		if (!Number.isInteger(group) || group < 0 || group >= groups)
			fail(`tree_info[${i}] is ${group}, not an output group below ${groups}`);
	});
	if (weightDrop !== undefined && weightDrop.length !== trees.length)
		fail(
			`gradient_booster.weight_drop has ${weightDrop.length} entries for ${trees.length} trees`,
		);

	const baseScore = baseScores(params.base_score ?? "0.5", "learner_model_param.base_score");
	const { featureNames, featureTypes } = readFeatureLists(learner, numFeatures);

	const version = Array.isArray(root.version) ? root.version.join(".") : undefined;
	return {
		...(version !== undefined ? { version } : {}),
		booster: booster.name === "dart" ? "dart" : "gbtree",
		objective,
		numFeatures,
		numClass,
		numTarget,
		baseScore,
		featureNames,
		featureTypes,
		trees,
		treeInfo,
		...(weightDrop !== undefined ? { weightDrop } : {}),
	};
}

/** Walks a tree from the root: every child in range, leaves have no children, no node reached twice. */
function checkTreeWalk(
	where: string,
	numFeatures: number,
	leftChildren: readonly number[],
	rightChildren: readonly number[],
	splitIndices: readonly number[],
): void {
	const numNodes = leftChildren.length;
	const seen = new Uint8Array(numNodes);
	const stack = [0];
	while (stack.length > 0) {
		const node = stack.pop() as number;
		if (seen[node]) fail(`${where}: node ${node} is reached twice (the tree has a cycle)`);
		seen[node] = 1;
		const left = leftChildren[node];
		const right = rightChildren[node];
		if (left === -1 && right === -1) continue;
		for (const child of [left, right]) {
			if (!Number.isInteger(child) || child < 0 || child >= numNodes)
				fail(`${where}: node ${node} has child ${child}, outside 0…${numNodes - 1}`);
		}
		const feature = splitIndices[node];
		if (!Number.isInteger(feature) || feature < 0 || feature >= numFeatures)
			fail(
				`${where}: node ${node} splits on feature ${feature}, but the model has ${numFeatures}`,
			);
		stack.push(left, right);
	}
}

/** A tree's categorical splits: each names a categorical split node and a range of the categories. */
function readCategories(tree: Json, where: string, numNodes: number, splitType: readonly number[]) {
	const categories = optionalNumbers(tree.categories, `${where}.categories`);
	const categoriesNodes = optionalNumbers(tree.categories_nodes, `${where}.categories_nodes`);
	const categoriesSegments = optionalNumbers(
		tree.categories_segments,
		`${where}.categories_segments`,
	);
	const categoriesSizes = optionalNumbers(tree.categories_sizes, `${where}.categories_sizes`);
	if (
		categoriesSegments.length !== categoriesNodes.length ||
		categoriesSizes.length !== categoriesNodes.length
	)
		fail(
			`${where}: categories_nodes, categories_segments and categories_sizes differ in length`,
		);
	categoriesNodes.forEach((node, k) => {
		if (node < 0 || node >= numNodes || splitType[node] !== 1)
			fail(`${where}.categories_nodes[${k}] is ${node}, not a categorical split node`);
		if (categoriesSegments[k] + categoriesSizes[k] > categories.length)
			fail(`${where}: the categories of node ${node} run past the categories list`);
	});
	return { categories, categoriesNodes, categoriesSegments, categoriesSizes };
}

function readTree(value: unknown, where: string, numFeatures: number): XgboostTree {
	const tree = object(value, where);
	const treeParam = object(tree.tree_param, `${where}.tree_param`);
	const numNodes = count(treeParam.num_nodes, `${where}.tree_param.num_nodes`);
	if (numNodes < 1) fail(`${where} has no nodes`);
	const sizeLeafVector = count(treeParam.size_leaf_vector ?? "1", `${where}.size_leaf_vector`);
	const field = (name: string): number[] => {
		const list = numbers(tree[name], `${where}.${name}`);
		if (list.length !== numNodes)
			fail(`${where}.${name} has ${list.length} entries but the tree has ${numNodes} nodes`);
		return list;
	};
	const leftChildren = field("left_children");
	const rightChildren = field("right_children");
	const splitIndices = field("split_indices");
	const splitConditions = field("split_conditions");
	const defaultLeft = array(tree.default_left, `${where}.default_left`).map(
		v => v === 1 || v === true,
	);
	if (defaultLeft.length !== numNodes)
		fail(
			`${where}.default_left has ${defaultLeft.length} entries but the tree has ${numNodes} nodes`,
		);
	const baseWeights = numbers(tree.base_weights, `${where}.base_weights`);
	if (sizeLeafVector <= 1 && baseWeights.length !== numNodes)
		fail(
			`${where}.base_weights has ${baseWeights.length} entries but the tree has ${numNodes} nodes`,
		);
	const splitType =
		tree.split_type === undefined ? new Array<number>(numNodes).fill(0) : field("split_type");
	const sumHessian = tree.sum_hessian === undefined ? [] : field("sum_hessian");

	checkTreeWalk(where, numFeatures, leftChildren, rightChildren, splitIndices);

	const { categories, categoriesNodes, categoriesSegments, categoriesSizes } = readCategories(
		tree,
		where,
		numNodes,
		splitType,
	);

	return {
		numNodes,
		leftChildren,
		rightChildren,
		splitIndices,
		splitConditions,
		defaultLeft,
		baseWeights,
		splitType,
		categories,
		categoriesNodes,
		categoriesSegments,
		categoriesSizes,
		sumHessian,
	};
}

/**
 * The schema of an XGBoost JSON model: one FP32 input "input" of shape [-1, numFeatures] (with
 * the feature names when the file has them) and one FP32 output "predict", shaped as XGBoost's
 * own `Booster.predict` returns it (lib/importers/xgboost-json-importer.ts lists the shapes).
 */
export function xgboostSchema(model: XgboostJsonModel): ModelSchema {
	const input: TensorSpec = {
		name: "input",
		datatype: "FP32",
		shape: [-1, model.numFeatures],
	};
	if (model.featureNames.length > 0) input.features = model.featureNames.map(name => ({ name }));
	let shape = [-1];
	if (model.objective === "multi:softprob") shape = [-1, model.numClass];
	else if (model.objective !== "multi:softmax" && model.numTarget > 1)
		shape = [-1, model.numTarget];
	return { inputs: [input], outputs: [{ name: "predict", datatype: "FP32", shape }] };
}
