/**
 * The version's post-processing, on its primary output: the first output of the version's
 * schema (`schema.outputs[0]`), shaped [rows] or [rows, classes]. Other outputs pass through.
 *
 * Steps run in the spec's order, each on the scores the steps before it left:
 * - softmax (per row) and sigmoid (per value) replace the primary output's values;
 * - threshold (binary: [rows], [rows, 1] or [rows, 2], where column 1 is the positive class):
 *   score ≥ value → class 1, else 0;
 * - argmax: the class with the highest score (the first on ties);
 * - top-k: the k best classes, best first, with their scores.
 * A predicted class is the label at its index when the version has labels, else the index.
 * After a classifying step (threshold, argmax, top-k) a confidence follows, from the final
 * scores: the top score and its margin over the second (binary [rows]: max(p, 1 - p) and
 * |2p - 1|). Its outputs are added under POST_OUTPUT_NAMES.
 */
import { numberReader } from "../inference/column-checks";
import { toHalfBits } from "../inference/fp16";
import type { Tensor } from "../inference/tensor";
import type { TensorSpec } from "../model-spec/model-schema";
import type { PostStep } from "../model-spec/version-spec";
import { stepError, stepName } from "./pipeline-errors";

export type PostStepType = PostStep["type"];

/** The outputs the post-processing adds next to the model's own. */
export const POST_OUTPUT_NAMES = Object.freeze({
	/** [rows]: the label (BYTES) or class index (INT64) from threshold or argmax. */
	label: "predicted_label",
	/** [rows, k]: the k best labels (BYTES) or class indices (INT64), best first. */
	topKLabels: "top_k_labels",
	/** [rows, k] FP64: their scores. */
	topKScores: "top_k_scores",
	/** [rows] FP64: the top score. */
	confidence: "confidence",
	/** [rows] FP64: the top score minus the second. */
	margin: "confidence_margin",
});

export interface CompiledPostPipeline {
	/** The steps, plus "confidence" where a classifying step makes one. */
	readonly steps: readonly string[];
	/** The output the steps work on. */
	readonly primary: string;
	/** Output names the steps add (a client may ask for them). */
	readonly addedOutputs: readonly string[];
	/** The model's outputs with the primary one post-processed and the added ones appended. */
	apply(outputs: readonly Tensor[]): Tensor[];
}

interface Classification {
	/** Class index per row, from threshold or argmax. */
	predicted?: Int32Array;
	topK?: { k: number; indices: Int32Array; scores: Float64Array };
}

function softmax(scores: Float64Array, rows: number, classes: number): void {
	for (let r = 0; r < rows; r++) {
		const from = r * classes;
		let max = -Infinity;
		for (let c = 0; c < classes; c++) max = Math.max(max, scores[from + c]);
		let sum = 0;
		for (let c = 0; c < classes; c++) {
			const e = Math.exp(scores[from + c] - max);
			scores[from + c] = e;
			sum += e;
		}
		for (let c = 0; c < classes; c++) scores[from + c] /= sum;
	}
}

function sigmoid(scores: Float64Array): void {
	for (let i = 0; i < scores.length; i++) scores[i] = 1 / (1 + Math.exp(-scores[i]));
}

function argmax(scores: Float64Array, rows: number, classes: number): Int32Array {
	const best = new Int32Array(rows);
	for (let r = 0; r < rows; r++) {
		const from = r * classes;
		let top = 0;
		for (let c = 1; c < classes; c++) if (scores[from + c] > scores[from + top]) top = c;
		best[r] = top;
	}
	return best;
}

function topK(scores: Float64Array, rows: number, classes: number, k: number) {
	const indices = new Int32Array(rows * k);
	const best = new Float64Array(rows * k);
	for (let r = 0; r < rows; r++) {
		const from = r * classes;
		const out = r * k;
		let filled = 0;
		for (let c = 0; c < classes; c++) {
			const score = scores[from + c];
			if (filled === k && !(score > best[out + k - 1])) continue;
			// Insert in descending order; ties keep the lower class first.
			let at = Math.min(filled, k - 1);
			while (at > 0 && score > best[out + at - 1]) {
				best[out + at] = best[out + at - 1];
				indices[out + at] = indices[out + at - 1];
				at--;
			}
			best[out + at] = score;
			indices[out + at] = c;
			if (filled < k) filled++;
		}
	}
	return { k, indices, scores: best };
}

function confidence(scores: Float64Array, rows: number, classes: number) {
	const top = new Float64Array(rows);
	const margin = new Float64Array(rows);
	for (let r = 0; r < rows; r++) {
		if (classes === 1) {
			const p = scores[r];
			top[r] = Math.max(p, 1 - p);
			margin[r] = Math.abs(2 * p - 1);
			continue;
		}
		const from = r * classes;
		let first = -Infinity;
		let second = -Infinity;
		for (let c = 0; c < classes; c++) {
			const s = scores[from + c];
			if (s > first) {
				second = first;
				first = s;
			} else if (s > second) second = s;
		}
		top[r] = first;
		margin[r] = first - second;
	}
	return { top, margin };
}

interface NamedStep {
	step: PostStep;
	name: string;
}

/** The outputs the steps add; throws when the steps or the model's outputs conflict with them. */
function addedOutputNames(
	named: readonly NamedStep[],
	outputs: readonly TensorSpec[],
	classifies: boolean,
): string[] {
	const labelStep = named.filter(n => n.step.type === "threshold" || n.step.type === "argmax");
	const topKSteps = named.filter(n => n.step.type === "top-k");
	if (labelStep.length > 1)
		throw stepError(
			labelStep[1].name,
			`${labelStep[0].name} already gives ${POST_OUTPUT_NAMES.label}; expected one threshold or argmax`,
		);
	if (topKSteps.length > 1)
		throw stepError(topKSteps[1].name, "top-k is given twice; expected it once");
	const added = [
		...(labelStep.length ? [POST_OUTPUT_NAMES.label] : []),
		...(topKSteps.length ? [POST_OUTPUT_NAMES.topKLabels, POST_OUTPUT_NAMES.topKScores] : []),
		...(classifies ? [POST_OUTPUT_NAMES.confidence, POST_OUTPUT_NAMES.margin] : []),
	];
	for (const name of added)
		if (outputs.some(o => o.name === name))
			throw stepError(
				"pipeline.post",
				`the model already has an output named '${name}', which the post-processing adds; rename the model's output`,
			);
	return added;
}

/** Checks the class count against each step; at compile time when the schema fixes it. */
function checkClasses(
	named: readonly NamedStep[],
	spec: TensorSpec,
	labels: readonly string[] | null,
	classes: number,
): void {
	for (const { step, name } of named) {
		if (step.type === "threshold") {
			if (classes > 2)
				throw stepError(
					name,
					`'${spec.name}' has ${classes} classes; expected a binary output of 1 or 2 columns`,
				);
			if (labels && labels.length !== 2)
				throw stepError(
					name,
					`the version has ${labels.length} labels; expected 2 (negative, positive)`,
				);
		}
		if (step.type === "argmax" || step.type === "top-k") {
			if (classes < 2)
				throw stepError(
					name,
					`'${spec.name}' has ${classes} column; expected at least 2 classes (use threshold for one score)`,
				);
			if (labels && labels.length !== classes)
				throw stepError(
					name,
					`the version has ${labels.length} labels but '${spec.name}' has ${classes} classes; expected one label per class`,
				);
		}
	}
}

/** Class indices as labels (BYTES) when the version has them, else as INT64. */
function classTensor(
	labels: readonly string[] | null,
	name: string,
	shape: number[],
	indices: Int32Array,
): Tensor {
	return labels
		? { name, datatype: "BYTES", shape, data: Array.from(indices, i => labels[i]) }
		: { name, datatype: "INT64", shape, data: BigInt64Array.from(indices, i => BigInt(i)) };
}

/** Runs the steps over the scores in place; whether they were rescored and what was classified. */
function runSteps(
	named: readonly NamedStep[],
	scores: Float64Array,
	rows: number,
	classes: number,
): { rescored: boolean; found: Classification } {
	let rescored = false;
	const found: Classification = {};
	for (const { step } of named) {
		switch (step.type) {
			case "softmax":
				softmax(scores, rows, classes);
				rescored = true;
				break;
			case "sigmoid":
				sigmoid(scores);
				rescored = true;
				break;
			case "threshold": {
				const predicted = new Int32Array(rows);
				for (let r = 0; r < rows; r++) {
					const p = classes === 1 ? scores[r] : scores[r * 2 + 1];
					predicted[r] = p >= step.value ? 1 : 0;
				}
				found.predicted = predicted;
				break;
			}
			case "argmax":
				found.predicted = argmax(scores, rows, classes);
				break;
			case "top-k": {
				const k = Math.min(step.k, classes);
				found.topK = topK(scores, rows, classes, k);
				break;
			}
		}
	}
	return { rescored, found };
}

/** Appends the label, top-k and confidence outputs to `result`. */
function pushAddedOutputs(
	result: Tensor[],
	labels: readonly string[] | null,
	found: Classification,
	classifies: boolean,
	scores: Float64Array,
	rows: number,
	classes: number,
): void {
	if (found.predicted)
		result.push(classTensor(labels, POST_OUTPUT_NAMES.label, [rows], found.predicted));
	if (found.topK) {
		const { k, indices, scores: best } = found.topK;
		result.push(classTensor(labels, POST_OUTPUT_NAMES.topKLabels, [rows, k], indices));
		result.push({
			name: POST_OUTPUT_NAMES.topKScores,
			datatype: "FP64",
			shape: [rows, k],
			data: best,
		});
	}
	if (classifies) {
		const { top, margin } = confidence(scores, rows, classes);
		const one = (name: string, data: Float64Array): Tensor => ({
			name,
			datatype: "FP64",
			shape: [rows],
			data,
		});
		result.push(one(POST_OUTPUT_NAMES.confidence, top));
		result.push(one(POST_OUTPUT_NAMES.margin, margin));
	}
}

/**
 * Compiles the post-processing once per version. Throws 400 naming the step where the
 * spec, the primary output and the labels disagree.
 */
export function compilePostPipeline(
	steps: readonly PostStep[],
	outputs: readonly TensorSpec[],
	labels: readonly string[] | null,
): CompiledPostPipeline {
	const spec = outputs[0];
	const named = steps.map((s, i) => ({ step: s, name: stepName("post", i, s.type) }));
	const classifies = steps.some(s => s.type !== "softmax" && s.type !== "sigmoid");
	const added = addedOutputNames(named, outputs, classifies);
	if (steps.length > 0 && (spec.shape.length < 1 || spec.shape.length > 2))
		throw stepError(
			named[0].name,
			`the primary output '${spec.name}' is shaped [${spec.shape.join(", ")}]; expected [rows] or [rows, classes]`,
		);
	const fixedClasses = spec.shape.length === 1 ? 1 : spec.shape[1];
	if (steps.length > 0 && fixedClasses !== -1) checkClasses(named, spec, labels, fixedClasses);

	return {
		steps: [...steps.map(s => s.type), ...(classifies ? ["confidence"] : [])],
		primary: spec.name,
		addedOutputs: added,
		apply(modelOutputs) {
			if (steps.length === 0) return [...modelOutputs];
			const at = modelOutputs.findIndex(t => t.name === spec.name);
			if (at < 0)
				throw stepError(
					named[0].name,
					`the model returned no output '${spec.name}'; expected the primary output (the schema's first) among its outputs`,
				);
			const primary = modelOutputs[at];
			const rows = primary.shape[0];
			const classes = primary.shape.length === 1 ? 1 : primary.shape[1];
			if (fixedClasses === -1) checkClasses(named, spec, labels, classes);
			const read = numberReader(primary.datatype, primary.data);
			const scores = new Float64Array(rows * classes);
			for (let i = 0; i < scores.length; i++) scores[i] = read(i);
			const { rescored, found } = runSteps(named, scores, rows, classes);
			const result = [...modelOutputs];
			if (rescored) result[at] = rescoredTensor(primary, scores);
			pushAddedOutputs(result, labels, found, classifies, scores, rows, classes);
			return result;
		},
	};
}

/** New scores in the primary output's own float type (integer outputs become FP64). */
function rescoredTensor(primary: Tensor, scores: Float64Array): Tensor {
	const { name, shape } = primary;
	switch (primary.datatype) {
		case "FP32":
			return { name, shape, datatype: "FP32", data: Float32Array.from(scores) };
		case "FP16":
			return { name, shape, datatype: "FP16", data: Uint16Array.from(scores, toHalfBits) };
		default:
			return { name, shape, datatype: "FP64", data: scores };
	}
}
