import * as fs from "node:fs";
import * as path from "node:path";
import * as ort from "onnxruntime-node";
import { classIndices, findColumn, type Dataset } from "../../../lib/datasets/dataset";
import { splitDataset } from "../../../lib/datasets/dataset-split";
import { parseDataset } from "../../../lib/datasets/parse-dataset";
import { SeededRandom } from "../../../lib/datasets/seeded-random";
import { compilePipeline } from "../../../lib/pipelines/compile-pipeline";
import { checkVersionSpec } from "../../../lib/model-spec/version-spec";
import { trainedImportance } from "../../../lib/explain/trained-importance";
import { forwardNetwork } from "../../../lib/training/network-forward";
import { validateJobSpec } from "../../../lib/training/job-spec";
import { runTrainingJob, type TrainingOutcome } from "../../../lib/training/training-run";
import type { EpochProgress } from "../../../lib/training/training-types";
import { crossEntropy, forwardReference, maxRelativeDifference } from "./network-reference";

const FIXTURES = path.join(__dirname, "..", "..", "fixtures", "datasets");

function load(name: string): Promise<Dataset> {
	return parseDataset(fs.createReadStream(path.join(FIXTURES, `${name}.csv`)), {
		format: "csv",
		labelColumn: "label",
	});
}

let iris: Dataset;
let digits: Dataset;

beforeAll(async () => {
	[iris, digits] = await Promise.all([load("iris"), load("digits")]);
});

/** onnxruntime's output for the test split's features. */
async function onnxPredictions(outcome: TrainingOutcome): Promise<Float32Array> {
	const session = await ort.InferenceSession.create(outcome.onnx);
	try {
		const width = outcome.preprocessing.outputWidth;
		const rows = outcome.test.rows.length;
		const output = outcome.version.schema.outputs[0].name;
		const result = await session.run({
			input: new ort.Tensor("float32", outcome.test.features, [rows, width]),
		});
		return result[output].data as Float32Array;
	} finally {
		await session.release();
	}
}

describe("runTrainingJob on the shipped fixtures", () => {
	it("reaches test accuracy ≥ 0.93 on iris, Validated by its threshold, ONNX equal to TF.js", async () => {
		const spec = validateJobSpec({
			dataset: iris.sha256,
			labelColumn: "label",
			seed: 3,
			acceptance: { accuracy: { min: 0.93 } },
		});
		const outcome = await runTrainingJob({ dataset: iris, spec, jobId: "job-iris" });
		expect(outcome.evaluation?.task).toBe("classification");
		const evaluation = outcome.evaluation as Extract<
			TrainingOutcome["evaluation"],
			{ task: "classification" }
		>;
		expect(evaluation.accuracy).toBeGreaterThanOrEqual(0.93);
		expect(evaluation.rows).toBe(outcome.split.test);
		expect(evaluation.confusionMatrix.flat().reduce((a, b) => a + b, 0)).toBe(evaluation.rows);
		expect(outcome.state).toBe("Validated");
		expect(outcome.acceptance.passed).toBe(true);

		// What the registry stores: a spec it accepts, metrics on the test split, lineage.
		const { version } = outcome;
		expect(() => checkVersionSpec(version)).not.toThrow();
		expect(version.labels).toEqual(["setosa", "versicolor", "virginica"]);
		expect(version.metrics.map(m => m.name)).toEqual([
			"accuracy",
			"precision",
			"recall",
			"f1",
			"auc",
		]);
		expect(version.metrics[0]).toEqual({
			name: "accuracy",
			value: evaluation.accuracy,
			dataset: { sha256: iris.sha256, split: "test" },
		});
		expect(version.lineage).toMatchObject({
			trainingJob: "job-iris",
			datasetSha256: iris.sha256,
			seed: 3,
			hyperparameters: { optimizer: "adam", backend: outcome.training.backend.name },
		});

		// The exported ONNX model predicts what the TF.js model predicted, within 1e-5.
		const onnx = await onnxPredictions(outcome);
		const tfjs = outcome.test.predictions as Float32Array;
		expect(onnx).toHaveLength(tfjs.length);
		expect(maxRelativeDifference(onnx, tfjs)).toBeLessThan(1e-5);

		// And the version's own pipeline turns the raw test rows into the features trained on.
		const pipeline = compilePipeline(version.pipeline, version.schema, version.labels);
		const names = outcome.preprocessing.features.map(f => f.name);
		const columns = names.map(name => findColumn(iris, name));
		const raw = Array.from(outcome.test.rows, row =>
			columns.map(c => (c?.kind === "numeric" ? c.values[row] : null)),
		);
		const [served] = pipeline.preprocess([outcome.preprocessing.inputTensor(raw)]);
		expect(Array.from(served.data as Float32Array)).toEqual(Array.from(outcome.test.features));

		// Global importance on the test split, through the plain forward pass: its baseline is
		// the test accuracy (the forward pass agrees with TF.js), a petal measure ranks first.
		const rows = outcome.test.rows.length;
		expect(
			maxRelativeDifference(
				Float32Array.from(
					forwardNetwork(outcome.training.network, outcome.test.features, rows),
				),
				tfjs,
			),
		).toBeLessThan(1e-4);
		const importance = await trainedImportance(outcome, {
			seed: 3,
			datasetSha256: iris.sha256,
		});
		expect(importance).toMatchObject({
			method: "permutation",
			metric: "accuracy",
			rows,
			repeats: 5,
			seed: 3,
			dataset: { sha256: iris.sha256, split: "test" },
		});
		expect(Math.abs(importance!.baseline - evaluation.accuracy)).toBeLessThanOrEqual(1 / rows);
		expect(importance!.features.map(f => f.name)).toEqual(names);
		expect(["petal_length", "petal_width"]).toContain(importance!.ranking[0]);
		expect(
			importance!.features.find(f => f.name === importance!.ranking[0])!.importance,
		).toBeGreaterThan(0.1);
	});

	it("reaches test accuracy ≥ 0.95 on digits, ONNX equal to TF.js", async () => {
		const spec = validateJobSpec({ dataset: digits.sha256, labelColumn: "label", seed: 3 });
		const outcome = await runTrainingJob({ dataset: digits, spec });
		const evaluation = outcome.evaluation;
		expect(evaluation?.task === "classification" && evaluation.accuracy).toBeGreaterThanOrEqual(
			0.95,
		);
		expect(outcome.version.labels).toEqual(["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
		expect(outcome.state).toBe("Trained"); // no thresholds asked
		const onnx = await onnxPredictions(outcome);
		expect(maxRelativeDifference(onnx, outcome.test.predictions as Float32Array)).toBeLessThan(
			1e-5,
		);
		expect(outcome.tfjs?.weights.byteLength).toBeGreaterThan(0);
	});

	it("stops early on digits once validation loss stops improving, returning the best epoch's weights", async () => {
		const patience = 3;
		const spec = validateJobSpec({
			dataset: digits.sha256,
			labelColumn: "label",
			seed: 3,
			epochs: 200,
			learningRate: 0.02,
			model: { layers: [{ units: 128 }] },
			earlyStopping: { monitor: "val_loss", patience },
		});
		const outcome = await runTrainingJob({ dataset: digits, spec });
		const { training } = outcome;
		expect(training.stoppedEarly).toBe(true);
		expect(training.epochs).toBeLessThan(200);
		expect(training.bestEpoch).toBe(training.epochs - patience);
		expect(training.restoredBestWeights).toBe(true);
		const losses = training.history.map(h => h.validation?.val_loss as number);
		expect(Math.min(...losses)).toBe(losses[training.bestEpoch - 1]);

		// Score the returned network on the validation split independently: the best epoch's loss.
		const split = splitDataset(digits, {
			fractions: spec.split,
			seed: spec.seed,
			stratifyBy: "label",
		});
		const features = outcome.preprocessing.transformDataset(digits, split.validation);
		const label = classIndices(
			findColumn(digits, "label") as NonNullable<ReturnType<typeof findColumn>>,
		);
		const truth = Array.from(split.validation, row => label[row]);
		const loss = crossEntropy(forwardReference(training.network, features), truth, 10);
		expect(loss).toBeCloseTo(losses[training.bestEpoch - 1], 4);
		expect(Math.abs(loss - losses[losses.length - 1])).toBeGreaterThan(1e-3);
	});

	it("resumes iris from a checkpoint at the next epoch, finishing as the uninterrupted run did", async () => {
		const spec = validateJobSpec({
			dataset: iris.sha256,
			labelColumn: "label",
			seed: 3,
			epochs: 20,
			checkpointEvery: 5,
		});
		const checkpoints = new Map<number, Uint8Array>();
		const full = await runTrainingJob({
			dataset: iris,
			spec,
			callbacks: { onCheckpoint: (epoch, bytes) => void checkpoints.set(epoch, bytes) },
		});
		expect([...checkpoints.keys()]).toEqual([5, 10, 15, 20]);

		const progress: EpochProgress[] = [];
		const resumed = await runTrainingJob({
			dataset: iris,
			spec,
			resumeFrom: checkpoints.get(10),
			callbacks: { onProgress: p => progress.push(p) },
		});
		expect(progress.map(p => p.epoch)).toEqual([11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
		expect(resumed.training.resumedFromEpoch).toBe(10);
		expect(resumed.training.history).toHaveLength(20);
		expect(
			maxRelativeDifference(
				resumed.test.predictions as Float32Array,
				full.test.predictions as Float32Array,
				1e-3,
			),
		).toBeLessThan(1e-3);
	});

	it("trains a regression with a categorical feature and missing values to R² > 0.9", async () => {
		const random = new SeededRandom(4);
		const effect: Record<string, number> = { north: 30, south: -20, east: 0 };
		const lines = ["size,region,age,price"];
		for (let i = 0; i < 400; i++) {
			const size = 50 + random.next() * 100;
			const region = ["north", "south", "east"][random.int(3)];
			const age = random.next() * 40;
			const price = 2 * size + effect[region] - 0.5 * age + random.next() * 4;
			// Every 25th row misses its age: imputed with the train mean.
			lines.push(
				`${size.toFixed(2)},${region},${i % 25 === 0 ? "" : age.toFixed(1)},${price.toFixed(2)}`,
			);
		}
		const dataset = await parseDataset(lines.join("\n"), {
			format: "csv",
			labelColumn: "price",
		});
		const spec = validateJobSpec({
			dataset: dataset.sha256,
			labelColumn: "price",
			task: "regression",
			seed: 1,
			epochs: 60,
			acceptance: { r2: { min: 0.9 } },
		});
		const outcome = await runTrainingJob({ dataset, spec });
		const evaluation = outcome.evaluation;
		if (evaluation?.task !== "regression") throw new Error("expected a regression evaluation");
		expect(evaluation.r2).toBeGreaterThan(0.9);
		expect(outcome.state).toBe("Validated");
		expect(outcome.version.metrics.map(m => m.name)).toEqual(["mse", "mae", "r2"]);
		expect(outcome.version.schema.outputs).toEqual([
			{ name: "prediction", datatype: "FP32", shape: [-1, 1] },
		]);
		expect(outcome.version.pipeline.pre.map(s => s.type)).toEqual([
			"impute",
			"standardize",
			"one-hot",
		]);
		const onnx = await onnxPredictions(outcome);
		expect(maxRelativeDifference(onnx, outcome.test.predictions as Float32Array)).toBeLessThan(
			1e-5,
		);

		// Importance by RMSE, per dataset feature (region's one-hot block shuffled as one), in
		// the order of the price formula's spread: size (±100), region (±25), age (±10).
		const importance = await trainedImportance(outcome, {
			seed: 1,
			datasetSha256: dataset.sha256,
		});
		expect(importance?.metric).toBe("rmse");
		expect(importance?.baseline).toBeCloseTo(Math.sqrt(evaluation.mse), 1);
		expect(importance?.ranking).toEqual(["size", "region", "age"]);
		for (const f of importance!.features) expect(f.importance).toBeGreaterThan(0);
	});
});
