/**
 * Explanations of a served version's predictions, where the version is loaded: the request is
 * decoded by the version's own validator (rows by feature name or as arrays, or OIP tensors),
 * then
 *
 * - XGBoost ("tree-shap", the default for XGBoost): exact TreeSHAP over the model's trees, read
 *   once from the model file the node serves and kept while the version stays loaded; in margin
 *   space, after the version's pre-processing; no background needed.
 * - any format ("kernel-shap", the only method for ONNX and TF.js): KernelSHAP against a
 *   background set, with every coalition of every row evaluated in one batch through the
 *   version's batching queue and runtime (large batches run in the worker pool), under the
 *   request's deadline; over the input columns as the client sends them (pre-processing is part
 *   of the explained function) and the model's first floating-point output, before
 *   post-processing.
 *
 * Answers per row `method`, `baseValue`, `contributions` by feature name and `output`; with
 * several explained outputs (classes) each of the three is an object by output name.
 */
import * as fs from "node:fs/promises";
import { setImmediate as nextTurn } from "node:timers/promises";
import { DeadlineExceededError, InvalidInputError } from "../errors";
import { readXgboostJsonModel } from "../runtimes/xgboost/xgboost-json-model";
import type { Tensor, TensorData } from "../inference/tensor";
import type { ServedModel } from "../predictor/served-model";
import type { VersionView } from "../registry/version-store";
import { kernelShapBatch, kernelShapResults, planKernelShap } from "./kernel-batch";
import { TreeShap } from "./tree-shap";

export const EXPLAIN_METHODS = ["tree-shap", "kernel-shap"] as const;
export type ExplainMethod = (typeof EXPLAIN_METHODS)[number];

/** Where KernelSHAP's background comes from: rows, or a dataset (by ref or sha256). */
export type BackgroundSpec = unknown[] | { dataset: string; rows?: number; seed?: number };

export interface ExplainParams {
	instances?: unknown[];
	inputs?: unknown[];
	/** One output (class) to explain, by name or index; default all. */
	output?: string | number;
	method?: ExplainMethod;
	background?: BackgroundSpec;
	/** KernelSHAP's coalitions per row; default 2·M + 2048, within MAX_BATCH_VALUES. */
	nsamples?: number;
	/** KernelSHAP's sampling seed; default 0 (the same answer for the same request). */
	seed?: number;
}

/** A dataset's rows as instances for the version's validator. */
export type DatasetRowsLoader = (source: {
	dataset: string;
	rows: number;
	seed: number;
}) => Promise<unknown[]>;

export interface ExplainContext {
	model: ServedModel;
	version: VersionView;
	/** Epoch ms after which the work is abandoned (504). */
	deadline?: number;
	loadDatasetRows: DatasetRowsLoader;
}

export interface RowExplanation {
	method: ExplainMethod;
	baseValue: number | Record<string, number>;
	contributions: Record<string, number> | Record<string, Record<string, number>>;
	output: number | Record<string, number>;
}

export interface ExplainResult {
	modelName: string;
	modelVersion: string;
	method: ExplainMethod;
	/** What is explained: "margin" (TreeSHAP), or the output tensor's name (KernelSHAP). */
	outputSpace: string;
	features: string[];
	/** The explained outputs (classes, groups), in order. */
	outputs: string[];
	/** KernelSHAP: every coalition was enumerated (exact Shapley values of every row). */
	exact?: boolean;
	/** KernelSHAP: coalitions evaluated per row (the most of any row), and background rows. */
	nsamples?: number;
	backgroundRows?: number;
	explanations: RowExplanation[];
}

/** Rows one TreeSHAP request may explain. */
export const MAX_TREE_ROWS = 1000;
/** Rows one KernelSHAP request may explain. */
export const MAX_KERNEL_ROWS = 100;
/** Values (rows × features) of one KernelSHAP evaluation batch: 2^25, 128 MiB as FP32. */
export const MAX_BATCH_VALUES = 2 ** 25;
/** Background rows drawn from a dataset by default. */
export const DEFAULT_BACKGROUND_ROWS = 100;
/** TreeSHAP rows between yields to the event loop. */
const TREE_ROWS_PER_TURN = 32;

const treeExplainers = new WeakMap<ServedModel, Promise<TreeShap>>();

/** The version's trees with their covers, read once per loaded version. */
function treeShapOf(model: ServedModel): Promise<TreeShap> {
	let explainer = treeExplainers.get(model);
	if (explainer === undefined) {
		explainer = fs.readFile(model.filePath, "utf8").then(text => {
			try {
				return TreeShap.fromModel(readXgboostJsonModel(JSON.parse(text)));
			} catch (error) {
				throw new InvalidInputError(
					`${model.info.model}@${model.info.version} cannot be explained by TreeSHAP: ${(error as Error).message}.`,
				);
			}
		});
		explainer.catch(() => treeExplainers.delete(model));
		treeExplainers.set(model, explainer);
	}
	return explainer;
}

function checkDeadline(deadline: number | undefined, started: number): void {
	if (deadline !== undefined && Date.now() >= deadline)
		throw new DeadlineExceededError(Date.now() - started);
}

/** Names of the first input's columns: the schema's feature names, else f0, f1, … */
function featureNames(model: ServedModel, count: number): string[] {
	const features = model.schema.inputs[0]?.features;
	return features !== undefined && features.length === count
		? features.map(f => f.name)
		: Array.from({ length: count }, (_, i) => `f${i}`);
}

/** Names of `count` output columns: the version's labels when they fit, else 0, 1, … */
function outputNames(version: VersionView, count: number): string[] {
	return version.labels !== null && version.labels.length === count
		? [...version.labels]
		: Array.from({ length: count }, (_, i) => String(i));
}

/** The columns to explain: the one `output` names, or all. */
function chooseOutputs(names: readonly string[], output: string | number | undefined): number[] {
	if (output === undefined) return names.map((_, i) => i);
	const index = typeof output === "number" ? output : names.indexOf(output);
	if (!Number.isInteger(index) || index < 0 || index >= names.length)
		throw new InvalidInputError(
			`output ${JSON.stringify(output)} is not one of the model's outputs: ${names
				.slice(0, 20)
				.map(n => `'${n}'`)
				.join(", ")} (or their index from 0).`,
			{ where: "output" },
		);
	return [index];
}

/** The request part of the body, for the version's validator. */
function requestBody(params: ExplainParams): Record<string, unknown> {
	if (params.instances !== undefined) return { instances: params.instances };
	if (params.inputs !== undefined) return { inputs: params.inputs };
	throw new InvalidInputError("Give the rows to explain as `instances` or OIP `inputs`.", {
		where: "instances",
	});
}

function tabularInput(model: ServedModel, decoded: Tensor[], what: string): Tensor {
	const [input] = decoded;
	if (decoded.length !== 1 || input.shape.length !== 2)
		throw new InvalidInputError(
			`${what} needs a tabular model: one input shaped [rows, features]; ${model.info.model}@${model.info.version} takes ${decoded
				.map(t => `'${t.name}' [${t.shape.join(", ")}]`)
				.join(", ")}.`,
		);
	return input;
}

function shaped(
	names: readonly string[],
	columns: readonly number[],
	value: (c: number) => number,
): number | Record<string, number> {
	if (columns.length === 1) return value(0);
	return Object.fromEntries(columns.map((column, c) => [names[column], value(c)]));
}

function byFeature(features: readonly string[], value: (j: number) => number) {
	return Object.fromEntries(features.map((name, j) => [name, value(j)]));
}

/** Explains the rows of one request; see the module comment. */
export async function explainPrediction(
	context: ExplainContext,
	params: ExplainParams,
): Promise<ExplainResult> {
	const { model } = context;
	const method: ExplainMethod =
		params.method ?? (model.format === "xgboost-json" ? "tree-shap" : "kernel-shap");
	if (method === "tree-shap" && model.format !== "xgboost-json")
		throw new InvalidInputError(
			`method 'tree-shap' explains XGBoost models; ${model.info.model}@${model.info.version} is ${model.format}: use 'kernel-shap'.`,
			{ where: "method" },
		);
	return method === "tree-shap" ? explainTrees(context, params) : explainKernel(context, params);
}

async function explainTrees(
	context: ExplainContext,
	params: ExplainParams,
): Promise<ExplainResult> {
	const { model, version, deadline } = context;
	const started = Date.now();
	const decoded = model.decode(requestBody(params));
	if (decoded.rows > MAX_TREE_ROWS)
		throw new InvalidInputError(
			`${decoded.rows} rows to explain; one request explains at most ${MAX_TREE_ROWS}.`,
			{ where: "instances" },
		);
	const explainer = await treeShapOf(model);
	const input = tabularInput(model, model.preprocess(decoded.inputs), "TreeSHAP");
	const rows = decoded.rows;
	const m = explainer.numFeatures;
	if (
		input.shape[1] !== m ||
		!(input.data instanceof Float32Array || input.data instanceof Float64Array)
	)
		throw new InvalidInputError(
			`TreeSHAP needs ${m} floating-point features per row; the input is ${input.datatype} [${input.shape.join(", ")}].`,
		);
	const x = input.data;
	const groups = explainer.numGroups;
	const width = explainer.width;
	const features = featureNames(model, m);
	const names = groups === 1 ? ["margin"] : outputNames(version, groups);
	const columns = chooseOutputs(names, params.output);
	const margins = explainer.margins(x, rows);
	const explanations: RowExplanation[] = [];
	for (let start = 0; start < rows; start += TREE_ROWS_PER_TURN) {
		if (start > 0) await nextTurn();
		checkDeadline(deadline, started);
		const end = Math.min(rows, start + TREE_ROWS_PER_TURN);
		const values = explainer.explain(x.subarray(start * m, end * m), end - start);
		for (let r = 0; r < end - start; r++) {
			const at = (g: number) => (r * groups + g) * width;
			explanations.push({
				method: "tree-shap",
				baseValue: shaped(names, columns, c => values[at(columns[c]) + m]),
				contributions:
					columns.length === 1
						? byFeature(features, j => values[at(columns[0]) + j])
						: Object.fromEntries(
								columns.map(g => [
									names[g],
									byFeature(features, j => values[at(g) + j]),
								]),
							),
				output: shaped(names, columns, c => margins[(start + r) * groups + columns[c]]),
			});
		}
	}
	return {
		modelName: version.model,
		modelVersion: version.version,
		method: "tree-shap",
		outputSpace: "margin",
		features,
		outputs: columns.map(c => names[c]),
		explanations,
	};
}

/** Background rows: given, from a named dataset, or from the version's training dataset. */
async function backgroundRows(context: ExplainContext, params: ExplainParams): Promise<unknown[]> {
	const spec = params.background;
	if (Array.isArray(spec)) return spec;
	const rows = spec?.rows ?? DEFAULT_BACKGROUND_ROWS;
	const seed = spec?.seed ?? 0;
	if (spec !== undefined) return context.loadDatasetRows({ dataset: spec.dataset, rows, seed });
	const sha256 = context.version.lineage.datasetSha256;
	if (sha256 === undefined)
		throw new InvalidInputError(
			`KernelSHAP needs a background set and ${context.version.ref} has no training dataset in its lineage: give \`background\` as rows, or as {"dataset": "name@version", "rows": 100}.`,
			{ where: "background" },
		);
	return context.loadDatasetRows({ dataset: sha256, rows, seed });
}

async function explainKernel(
	context: ExplainContext,
	params: ExplainParams,
): Promise<ExplainResult> {
	const { model, version, deadline } = context;
	const started = Date.now();
	const decoded = model.decode(requestBody(params));
	const x = tabularInput(model, decoded.inputs, "KernelSHAP");
	const rows = decoded.rows;
	if (rows > MAX_KERNEL_ROWS)
		throw new InvalidInputError(
			`${rows} rows to explain; one KernelSHAP request explains at most ${MAX_KERNEL_ROWS}.`,
			{ where: "instances" },
		);
	const m = x.shape[1];
	const background = tabularInput(
		model,
		model.decode({ instances: await backgroundRows(context, params) }).inputs,
		"KernelSHAP",
	);
	const n = background.shape[0];
	checkDeadline(deadline, started);
	const perRow = Math.floor(MAX_BATCH_VALUES / Math.max(1, n * m));
	const nsamples = params.nsamples ?? Math.max(2, Math.min(2 * m + 2048, perRow - 1));
	const job = planKernelShap(x.data, background.data, rows, m, {
		nsamples,
		seed: params.seed ?? 0,
	});
	if (job.batchRows * m > MAX_BATCH_VALUES)
		throw new InvalidInputError(
			`Explaining ${rows} row(s) of ${m} features with ${nsamples} samples against ${n} background rows takes ${job.batchRows} model evaluations, over the limit of ${MAX_BATCH_VALUES} values (rows × features) per request: send fewer rows, a smaller nsamples or fewer background rows.`,
			{ where: "nsamples" },
		);
	const batch: Tensor = {
		name: x.name,
		datatype: x.datatype,
		shape: [job.batchRows, m],
		data: kernelShapBatch(job) as TensorData,
	};
	const outputs = await model.runQueued(model.preprocess([batch]), job.batchRows, deadline);
	const out = outputs.find(t => t.datatype === "FP32" || t.datatype === "FP64");
	if (out === undefined || out.shape.length > 2)
		throw new InvalidInputError(
			`KernelSHAP explains a floating-point output shaped [rows] or [rows, classes]; ${version.ref} gives ${outputs
				.map(t => `'${t.name}' ${t.datatype} [${t.shape.join(", ")}]`)
				.join(", ")}.`,
		);
	const width = out.shape.length === 2 ? out.shape[1] : 1;
	const names = outputNames(version, width);
	const columns = chooseOutputs(names, params.output);
	const result = kernelShapResults(job, out.data as Float32Array, width, columns);
	const features = featureNames(model, m);
	return {
		modelName: version.model,
		modelVersion: version.version,
		method: "kernel-shap",
		outputSpace: out.name,
		features,
		outputs: columns.map(c => names[c]),
		exact: result.rows.every(row => row.exact),
		nsamples: Math.max(0, ...result.rows.map(row => row.coalitions)),
		backgroundRows: n,
		explanations: result.rows.map(row => ({
			method: "kernel-shap",
			baseValue: shaped(names, columns, c => result.base[c]),
			contributions:
				columns.length === 1
					? byFeature(features, j => row.contributions[j])
					: Object.fromEntries(
							columns.map((column, c) => [
								names[column],
								byFeature(features, j => row.contributions[c * m + j]),
							]),
						),
			output: shaped(names, columns, c => row.output[c]),
		})),
	};
}

/** The explain action's parameters besides `model` and `version` (fastest-validator rules). */
export const EXPLAIN_PARAMS = {
	instances: { type: "array", optional: true, min: 1 },
	inputs: { type: "array", optional: true, min: 1 },
	output: {
		type: "multi",
		optional: true,
		rules: [
			{ type: "string", min: 1, max: 256 },
			{ type: "number", integer: true, min: 0 },
		],
	},
	method: { type: "enum", values: [...EXPLAIN_METHODS], optional: true },
	background: {
		type: "multi",
		optional: true,
		rules: [
			{ type: "array", min: 1, max: 1000 },
			{
				type: "object",
				strict: true,
				props: {
					dataset: { type: "string", min: 1, max: 300 },
					rows: { type: "number", integer: true, min: 1, max: 1000, optional: true },
					seed: { type: "number", integer: true, optional: true },
				},
			},
		],
	},
	nsamples: { type: "number", integer: true, min: 2, max: 100_000, optional: true },
	seed: { type: "number", integer: true, optional: true },
} as const;
