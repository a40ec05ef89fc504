import * as fs from "node:fs";
import * as path from "node:path";
import { classIndices, findColumn, type Dataset } from "../../../lib/datasets/dataset";
import { splitDataset, type DatasetSplit } from "../../../lib/datasets/dataset-split";
import { parseDataset } from "../../../lib/datasets/parse-dataset";
import { InvalidInputError } from "../../../lib/errors";
import * as ort from "onnxruntime-node";
import { readOnnxModel } from "../../../lib/onnx/onnx-reader";
import { denseNetworkOfOnnx } from "../../../lib/optimization/dense-onnx";
import { denseNetworkOfLayersModel } from "../../../lib/optimization/dense-source";
import { evaluationRows } from "../../../lib/optimization/evaluation-rows";
import type { EvaluationSplit } from "../../../lib/optimization/optimization-spec";
import { layerSparsity } from "../../../lib/optimization/magnitude-pruning";
import { pruneRecipe, validatePruneParams } from "../../../lib/optimization/prune-recipe";
import type { RecipeDataset } from "../../../lib/optimization/recipe";
import { loadLayersModelTar } from "../../../lib/optimization/tfjs-source";
import { layersModelToOnnx } from "../../../lib/optimization/tfjs-to-onnx";
import { loadTfjs } from "../../../lib/runtimes/tfjs/load-tfjs";
import { validateJobSpec, type JobSpec } from "../../../lib/training/job-spec";
import { tfjsTar } from "../../../lib/training/tfjs-tar";
import { runTrainingJob, type TrainingOutcome } from "../../../lib/training/training-run";
import type { TrainedNetwork } from "../../../lib/training/training-types";
import { forwardReference } from "../training/network-reference";

const DIGITS = path.join(__dirname, "..", "..", "fixtures", "datasets", "digits.csv");

let digits: Dataset;
let source: TrainingOutcome;
let sourceTar: Uint8Array;
/** How the source's training run split the digits, as an optimization job records it. */
let evaluation: EvaluationSplit;
let split: DatasetSplit;

beforeAll(async () => {
	digits = await parseDataset(fs.createReadStream(DIGITS), {
		format: "csv",
		labelColumn: "label",
	});
	const spec = validateJobSpec({
		dataset: digits.sha256,
		labelColumn: "label",
		seed: 3,
		epochs: 30,
	});
	source = await runTrainingJob({ dataset: digits, spec });
	sourceTar = await tfjsTar(source.tfjs!);
	evaluation = evaluationOf(spec);
	split = splitDataset(digits, { fractions: spec.split, seed: spec.seed, stratifyBy: "label" });
}, 60_000);

function evaluationOf(spec: JobSpec): EvaluationSplit {
	return {
		trainingJob: "job-1",
		labelColumn: spec.labelColumn,
		features: spec.features,
		task: spec.task,
		split: spec.split,
		seed: spec.seed,
	};
}

/** The rows of `rows` through the source's pre-processing, with their class indices. */
function recipeDataset(rows: Uint32Array): RecipeDataset {
	const labels = classIndices(findColumn(digits, "label")!);
	return {
		features: source.preprocessing.transformDataset(digits, rows),
		rows: rows.length,
		width: source.preprocessing.outputWidth,
		labels: Int32Array.from(rows, row => labels[row]),
	};
}

function accuracy(network: TrainedNetwork, data: RecipeDataset): number {
	const out = forwardReference(network, data.features);
	const k = network.layers[network.layers.length - 1].units;
	let correct = 0;
	for (let r = 0; r < data.rows; r++) {
		const row = Array.from(out.subarray(r * k, (r + 1) * k));
		if (row.indexOf(Math.max(...row)) === data.labels![r]) correct++;
	}
	return correct / data.rows;
}

async function networkOfTar(bytes: Uint8Array): Promise<TrainedNetwork> {
	const tf = await loadTfjs();
	const model = await loadLayersModelTar(tf, bytes);
	try {
		return denseNetworkOfLayersModel(model).network;
	} finally {
		model.dispose();
	}
}

async function prune(params: unknown, sourceFormat: "tfjs" | "onnx" = "tfjs") {
	const progress: number[] = [];
	const output = await pruneRecipe.run({
		sourceFile: sourceFormat === "tfjs" ? sourceTar : source.onnx,
		sourceFormat,
		params: pruneRecipe.validateParams(params) as never,
		dataset: evaluationRows(digits, evaluation, source.version).train,
		signal: new AbortController().signal,
		progress: fraction => progress.push(fraction),
	});
	return { output, progress, split };
}

describe("the prune recipe on a digits MLP", () => {
	it("prunes every Dense kernel to 50 % and, fine-tuned, keeps test accuracy within 1 point", async () => {
		const { output, progress, split } = await prune({ sparsity: 0.5, epochs: 5 });
		expect(output.format).toBe("tfjs");
		const pruned = await networkOfTar(output.file);
		const test = recipeDataset(split.test);
		const before = accuracy(source.training.network, test);
		const after = accuracy(pruned, test);
		// The lineage split is the training run's: the source's own test accuracy, recomputed.
		expect(before).toBeCloseTo(
			source.evaluation?.task === "classification" ? source.evaluation.accuracy : -1,
			10,
		);
		expect(before).toBeGreaterThan(0.9);
		expect(after).toBeGreaterThanOrEqual(before - 0.01);
		for (const layer of layerSparsity(pruned))
			expect(layer.sparsity).toBeGreaterThanOrEqual(0.5);
		const details = output.details as { layers: { name: string; sparsity: number }[] };
		expect(details.layers.map(l => l.name)).toEqual(["dense_1", "probabilities"]);
		expect(details.layers.every(l => l.sparsity >= 0.5)).toBe(true);
		expect(progress[progress.length - 1]).toBe(1);
		process.stdout.write(
			`prune 50 %: test accuracy ${before.toFixed(4)} → ${after.toFixed(4)} (${test.rows} rows)\n`,
		);
	}, 60_000);

	it("loses accuracy without the fine-tuning at high sparsity, which the fine-tuning wins back", async () => {
		const { output: raw, split } = await prune({ sparsity: 0.9, epochs: 0 });
		const { output: tuned } = await prune({ sparsity: 0.9, epochs: 5 });
		const test = recipeDataset(split.test);
		const rawAccuracy = accuracy(await networkOfTar(raw.file), test);
		const tunedNetwork = await networkOfTar(tuned.file);
		const tunedAccuracy = accuracy(tunedNetwork, test);
		expect(tunedAccuracy).toBeGreaterThan(rawAccuracy + 0.02);
		process.stdout.write(
			`prune 90 %: test accuracy ${rawAccuracy.toFixed(4)} without fine-tuning, ${tunedAccuracy.toFixed(4)} with\n`,
		);
		// The masks held through fine-tuning: still 90 % zero.
		for (const layer of layerSparsity(tunedNetwork))
			expect(layer.sparsity).toBeGreaterThanOrEqual(0.9);
	}, 60_000);

	it("prunes the trainer's ONNX export in place: an ONNX file with the same names, 50 % sparse, accuracy within 1 point", async () => {
		const { output, split } = await prune({ sparsity: 0.5, epochs: 5 }, "onnx");
		expect(output.format).toBe("onnx");
		const test = recipeDataset(split.test);
		const session = await ort.InferenceSession.create(output.file);
		try {
			expect(session.inputNames).toEqual(["input"]);
			expect(session.outputNames).toEqual(["probabilities"]);
			const result = await session.run({
				input: new ort.Tensor("float32", test.features, [test.rows, test.width]),
			});
			const probabilities = result.probabilities.data as Float32Array;
			let correct = 0;
			for (let r = 0; r < test.rows; r++) {
				const row = Array.from(probabilities.subarray(r * 10, (r + 1) * 10));
				if (row.indexOf(Math.max(...row)) === test.labels![r]) correct++;
			}
			const before = accuracy(source.training.network, test);
			expect(correct / test.rows).toBeGreaterThanOrEqual(before - 0.01);
		} finally {
			await session.release();
		}
		const pruned = denseNetworkOfOnnx(readOnnxModel(output.file)).network;
		for (const layer of layerSparsity(pruned))
			expect(layer.sparsity).toBeGreaterThanOrEqual(0.5);
		expect(readOnnxModel(output.file).metadata).toEqual(readOnnxModel(source.onnx).metadata);
	}, 60_000);

	it("refuses an ONNX model that is not a chain of Gemm layers, naming the node", async () => {
		const tf = await loadTfjs();
		const model = tf.sequential();
		model.add(tf.layers.reshape({ inputShape: [64], targetShape: [8, 8, 1], name: "grid" }));
		model.add(tf.layers.flatten({ name: "flat" }));
		model.add(tf.layers.dense({ units: 10, activation: "softmax", name: "out" }));
		const onnx = layersModelToOnnx(model);
		model.dispose();
		expect(() => denseNetworkOfOnnx(readOnnxModel(onnx))).toThrow(
			/Reshape node 'grid\/reshape_0' is not a Gemm/,
		);
	});

	it("evaluationRows: the training run's train and test rows through the source's own pre-processing, refusing a changed pipeline or labels", () => {
		const rows = evaluationRows(digits, evaluation, source.version);
		expect(rows.train).toEqual(recipeDataset(split.train));
		expect(rows.test).toEqual(recipeDataset(split.test));
		const pre = structuredClone(source.version.pipeline.pre);
		const standardize = pre.find(step => step.type === "standardize") as { mean: number[] };
		standardize.mean[0] += 0.5;
		expect(() =>
			evaluationRows(digits, evaluation, { ...source.version, pipeline: { pre, post: [] } }),
		).toThrow(/pre-processing is not the one its training rows give/);
		const labels = [...source.version.labels!].reverse();
		expect(() => evaluationRows(digits, evaluation, { ...source.version, labels })).toThrow(
			/not the version's labels/,
		);
	});

	it("refuses parameters out of range, naming them", () => {
		expect(() => validatePruneParams({ sparsity: 1 })).toThrow(/params\.sparsity/);
		expect(() => validatePruneParams({ epochs: -1 })).toThrow(InvalidInputError);
		expect(() => validatePruneParams({ sparsty: 0.5 })).toThrow(/unknown field.*sparsty/);
		expect(validatePruneParams(undefined)).toEqual({
			sparsity: 0.5,
			epochs: 5,
			learningRate: 0.005,
			batchSize: 32,
			seed: 1,
		});
	});
});
