/**
 * The models the optimization benchmark and tests work on, both for the UCI 8×8 digits:
 *
 * - the digits MLP, trained by the training service's own code (64 → 64 → 32 → 10, the
 *   "medium" preset), with its test split as pre-processed rows;
 * - a small CNN (Conv 1→32 3×3 pad 1, Relu, MaxPool 2×2, Flatten, Gemm 512→10, Softmax): its
 *   conv filters are seeded (He-uniform), its dense head trained here by full-batch gradient
 *   descent on the training rows, so its accuracy is real (≈ 0.9) without a TF.js conv net.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as ort from "onnxruntime-node";
import { classIndices, findColumn, type Dataset } from "../../lib/datasets/dataset";
import { parseDataset } from "../../lib/datasets/parse-dataset";
import { SeededRandom } from "../../lib/datasets/seeded-random";
import type { RecipeDataset } from "../../lib/optimization/recipe";
import { onnxAttribute, writeOnnxModel, type OnnxModelSpec } from "../../lib/onnx/onnx-writer";
import { validateJobSpec } from "../../lib/training/job-spec";
import { runTrainingJob } from "../../lib/training/training-run";

const DIGITS = path.join(__dirname, "..", "..", "test", "fixtures", "datasets", "digits.csv");

export function loadDigits(): Promise<Dataset> {
	return parseDataset(fs.createReadStream(DIGITS), { format: "csv", labelColumn: "label" });
}

export interface DigitsModel {
	onnx: Uint8Array;
	/** Held-out rows, model-ready. */
	test: RecipeDataset;
	/** Rows the model was fitted on (calibration comes from here, not from the test rows). */
	train: RecipeDataset;
}

export async function trainDigitsMlp(digits: Dataset, epochs = 20): Promise<DigitsModel> {
	const spec = validateJobSpec({
		dataset: digits.sha256,
		labelColumn: "label",
		seed: 3,
		epochs,
		model: { preset: "medium" },
	});
	const outcome = await runTrainingJob({ dataset: digits, spec });
	const width = outcome.preprocessing.outputWidth;
	const test: RecipeDataset = {
		features: outcome.test.features,
		rows: outcome.test.rows.length,
		width,
		labels: outcome.test.truth as Int32Array,
	};
	// Calibration rows: the first 200 of the dataset that are not test rows.
	const testRows = new Set(outcome.test.rows);
	const trainRows = Uint32Array.from(
		Array.from({ length: digits.rowCount }, (_, i) => i).filter(i => !testRows.has(i)),
	).subarray(0, 200);
	const labels = classIndices(findColumn(digits, "label")!);
	const train: RecipeDataset = {
		features: outcome.preprocessing.transformDataset(digits, trainRows),
		rows: trainRows.length,
		width,
		labels: Int32Array.from(trainRows, r => labels[r]),
	};
	return { onnx: outcome.onnx, test, train };
}

const CHANNELS = 32;

/** Pixels 0–16 scaled to 0–1, all rows, and labels. */
function digitsPixels(digits: Dataset): RecipeDataset {
	const rows = digits.rowCount;
	const features = new Float32Array(rows * 64);
	const pixels = digits.columns.filter(c => c.name.startsWith("pixel_"));
	pixels.forEach((column, c) => {
		if (column.kind !== "numeric") throw new TypeError(`${column.name} is not numeric`);
		for (let r = 0; r < rows; r++) features[r * 64 + c] = column.values[r] / 16;
	});
	return { features, rows, width: 64, labels: classIndices(findColumn(digits, "label")!) };
}

function cnnSpec(
	conv: Float32Array,
	convBias: Float32Array,
	head: Float32Array,
	headBias: Float32Array,
	withHead: boolean,
): OnnxModelSpec {
	const features = CHANNELS * 16;
	return {
		graph: {
			name: "digits_cnn",
			nodes: [
				{
					opType: "Conv",
					inputs: ["image", "conv_w", "conv_b"],
					outputs: ["conv"],
					attributes: {
						kernel_shape: onnxAttribute.ints([3, 3]),
						pads: onnxAttribute.ints([1, 1, 1, 1]),
					},
				},
				{ opType: "Relu", inputs: ["conv"], outputs: ["relu"] },
				{
					opType: "MaxPool",
					inputs: ["relu"],
					outputs: ["pool"],
					attributes: {
						kernel_shape: onnxAttribute.ints([2, 2]),
						strides: onnxAttribute.ints([2, 2]),
					},
				},
				{ opType: "Flatten", inputs: ["pool"], outputs: ["flat"] },
				...(withHead
					? [
							{
								opType: "Gemm",
								inputs: ["flat", "dense_w", "dense_b"],
								outputs: ["logits"],
							},
							{
								opType: "Softmax",
								inputs: ["logits"],
								outputs: ["probabilities"],
								attributes: { axis: onnxAttribute.int(1) },
							},
						]
					: []),
			],
			initializers: [
				{ name: "conv_w", dims: [CHANNELS, 1, 3, 3], data: conv },
				{ name: "conv_b", dims: [CHANNELS], data: convBias },
				...(withHead
					? [
							{ name: "dense_w", dims: [features, 10], data: head },
							{ name: "dense_b", dims: [10], data: headBias },
						]
					: []),
			],
			inputs: [{ name: "image", datatype: "FP32", shape: ["batch", 1, 8, 8] }],
			outputs: withHead
				? [{ name: "probabilities", datatype: "FP32", shape: ["batch", 10] }]
				: [{ name: "flat", datatype: "FP32", shape: ["batch", features] }],
		},
	};
}

/** Long because it builds, runs and fits the CNN in one place, which reads best top to bottom. */
export async function digitsCnn(digits: Dataset): Promise<DigitsModel> {
	const all = digitsPixels(digits);
	const random = new SeededRandom(11);
	const bound = Math.sqrt(6 / 9);
	const conv = Float32Array.from({ length: CHANNELS * 9 }, () => (random.next() * 2 - 1) * bound);
	const convBias = new Float32Array(CHANNELS).fill(0.01);
	// The conv features of every row, from the model without its head.
	const trunk = await ort.InferenceSession.create(
		writeOnnxModel(cnnSpec(conv, convBias, new Float32Array(0), new Float32Array(0), false)),
	);
	const out = await trunk.run({
		image: new ort.Tensor("float32", all.features, [all.rows, 1, 8, 8]),
	});
	const flat = out.flat.data as Float32Array;
	await trunk.release();
	const width = CHANNELS * 16;
	// Every 5th row is held out; the rest train the head (softmax regression).
	const testIdx = Array.from({ length: all.rows }, (_, i) => i).filter(i => i % 5 === 0);
	const trainIdx = Array.from({ length: all.rows }, (_, i) => i).filter(i => i % 5 !== 0);
	const head = new Float32Array(width * 10);
	const headBias = new Float32Array(10);
	const logits = new Float64Array(10);
	const rate = 0.5;
	for (let epoch = 0; epoch < 60; epoch++) {
		const gradW = new Float64Array(width * 10);
		const gradB = new Float64Array(10);
		for (const r of trainIdx) {
			for (let k = 0; k < 10; k++) {
				let sum = headBias[k];
				for (let j = 0; j < width; j++) sum += flat[r * width + j] * head[j * 10 + k];
				logits[k] = sum;
			}
			const max = Math.max(...logits);
			let total = 0;
			for (let k = 0; k < 10; k++) total += logits[k] = Math.exp(logits[k] - max);
			for (let k = 0; k < 10; k++) {
				const g = logits[k] / total - (all.labels![r] === k ? 1 : 0);
				gradB[k] += g;
				for (let j = 0; j < width; j++) gradW[j * 10 + k] += g * flat[r * width + j];
			}
		}
		for (let i = 0; i < head.length; i++) head[i] -= (rate * gradW[i]) / trainIdx.length;
		for (let k = 0; k < 10; k++) headBias[k] -= (rate * gradB[k]) / trainIdx.length;
	}
	const pick = (rows: number[]): RecipeDataset => {
		const features = new Float32Array(rows.length * 64);
		rows.forEach((r, i) => features.set(all.features.subarray(r * 64, (r + 1) * 64), i * 64));
		return {
			features,
			rows: rows.length,
			width: 64,
			labels: Int32Array.from(rows, r => all.labels![r]),
		};
	};
	return {
		onnx: writeOnnxModel(cnnSpec(conv, convBias, head, headBias, true)),
		test: pick(testIdx),
		train: pick(trainIdx.slice(0, 200)),
	};
}
