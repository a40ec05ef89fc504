import { SeededRandom } from "../../../lib/datasets/seeded-random";
import { InvalidInputError } from "../../../lib/errors";
import type { TfModule } from "../../../lib/runtimes/tfjs/load-tfjs";
import { loadTrainingBackend } from "../../../lib/training/tfjs-backend";
import {
	runTrainingLoop,
	TrainingCancelledError,
	type LoopHooks,
} from "../../../lib/training/training-loop";
import type {
	BackendInfo,
	EpochProgress,
	TrainingConfig,
	TrainingData,
	TrainRequest,
} from "../../../lib/training/training-types";
import { forwardReference, maxRelativeDifference } from "./network-reference";

let tf: TfModule;
let backend: BackendInfo;

beforeAll(async () => {
	({ tf, backend } = await loadTrainingBackend("wasm", false));
});

/** Two classes split by x0 + x1 > 0, 6 features in [-1, 1). */
function separable(rows: number, seed: number): TrainingData {
	const random = new SeededRandom(seed);
	const x = Float32Array.from({ length: rows * 6 }, () => random.next() * 2 - 1);
	const y = Int32Array.from({ length: rows }, (_, r) => (x[r * 6] + x[r * 6 + 1] > 0 ? 1 : 0));
	return { x, rows, width: 6, y };
}

const CONFIG: TrainingConfig = {
	task: "classification",
	outputs: 2,
	layers: [{ units: 8, activation: "relu", dropout: 0.2 }],
	optimizer: "adam",
	learningRate: 0.05,
	epochs: 6,
	batchSize: 16,
	earlyStopping: null,
	checkpointEvery: 0,
	seed: 5,
};
const TRAIN = separable(240, 1);
const VALIDATION = separable(80, 2);

function request(
	config: Partial<TrainingConfig> = {},
	extra: Partial<TrainRequest> = {},
): TrainRequest {
	return {
		config: { ...CONFIG, ...config },
		train: TRAIN,
		validation: VALIDATION,
		predict: null,
		resumeFrom: null,
		exportTfjs: false,
		...extra,
	};
}

function run(req: TrainRequest, hooks?: LoopHooks) {
	return runTrainingLoop(tf, backend, req, hooks);
}

describe("runTrainingLoop", () => {
	it("trains the same weights from the same seed (dropout included) and others from another seed", async () => {
		const a = await run(request());
		const b = await run(request());
		const c = await run(request({ seed: 6 }));
		expect(Array.from(b.network.layers[0].kernel)).toEqual(
			Array.from(a.network.layers[0].kernel),
		);
		expect(Array.from(c.network.layers[0].kernel)).not.toEqual(
			Array.from(a.network.layers[0].kernel),
		);
		expect(tf.memory().numTensors).toBe(0);
	});

	it("reports every epoch with loss, accuracy, validation metrics, speed and time left", async () => {
		const seen: EpochProgress[] = [];
		const result = await run(request(), { onProgress: p => seen.push(p) });
		expect(seen.map(p => p.epoch)).toEqual([1, 2, 3, 4, 5, 6]);
		expect(result.history).toEqual(seen);
		for (const p of seen) {
			expect(p.epochs).toBe(6);
			expect(p.loss).toBeGreaterThan(0);
			expect(p.metrics.accuracy).toBeGreaterThanOrEqual(0);
			expect(Object.keys(p.validation ?? {})).toEqual(["val_loss", "val_accuracy"]);
			expect(p.samplesPerSecond).toBeGreaterThan(0);
		}
		expect(seen[5].etaMs).toBe(0);
		expect(seen[0].etaMs).toBeGreaterThan(0);
		// The boundary is simple: it learns it.
		expect(seen[5].validation?.val_accuracy).toBeGreaterThan(0.9);
		expect(seen[5].loss).toBeLessThan(seen[0].loss);
		expect(result.backend).toEqual(backend);
	});

	it("predicts with the final network: softmax probabilities that the float64 reference agrees with", async () => {
		const result = await run(request({}, { predict: { x: VALIDATION.x, rows: 80 } }));
		const predictions = result.predictions as Float32Array;
		expect(predictions).toHaveLength(160);
		expect(result.network.layers[1].activation).toBe("softmax");
		expect(predictions[0] + predictions[1]).toBeCloseTo(1, 6);
		expect(
			maxRelativeDifference(predictions, forwardReference(result.network, VALIDATION.x)),
		).toBeLessThan(1e-4);
	});

	it("checkpoints every N epochs, and a run resumed from one continues at its epoch + 1 to the same weights", async () => {
		for (const optimizer of ["sgd", "rmsprop", "adam"] as const) {
			const checkpoints = new Map<number, Uint8Array>();
			const full = await run(request({ optimizer, epochs: 7, checkpointEvery: 3 }), {
				onCheckpoint: (epoch, bytes) => checkpoints.set(epoch, bytes),
			});
			expect([...checkpoints.keys()]).toEqual([3, 6]);
			const epochs: number[] = [];
			const resumed = await run(
				request(
					{ optimizer, epochs: 7, checkpointEvery: 3 },
					{ resumeFrom: checkpoints.get(3) as Uint8Array },
				),
				{ onProgress: p => epochs.push(p.epoch) },
			);
			expect(epochs).toEqual([4, 5, 6, 7]);
			expect(resumed.resumedFromEpoch).toBe(3);
			expect(resumed.history.map(h => h.epoch)).toEqual([1, 2, 3, 4, 5, 6, 7]);
			expect(resumed.history.slice(0, 3)).toEqual(full.history.slice(0, 3));
			// Same shuffles, dropout masks and optimizer state: the same weights. Adam's bias
			// correction is recomputed from the step count on restore, a float32 rounding apart.
			const a = full.network.layers[0].kernel;
			const b = resumed.network.layers[0].kernel;
			if (optimizer === "adam") expect(maxRelativeDifference(a, b, 1e-3)).toBeLessThan(1e-4);
			else expect(Array.from(b)).toEqual(Array.from(a));
		}
	});

	it("refuses a checkpoint of another job", async () => {
		let checkpoint: Uint8Array | undefined;
		await run(request({ checkpointEvery: 2, epochs: 2 }), {
			onCheckpoint: (_, bytes) => (checkpoint = bytes),
		});
		const other = run(request({ seed: 99 }, { resumeFrom: checkpoint as Uint8Array }));
		await expect(other).rejects.toThrow(InvalidInputError);
		await expect(
			run(request({ seed: 99 }, { resumeFrom: checkpoint as Uint8Array })),
		).rejects.toThrow(/belongs to another job/);
		expect(tf.memory().numTensors).toBe(0);
	});

	it("stops early when the monitored value stops improving, with the best epoch's weights", async () => {
		// Random labels: the network can only memorise, so validation loss soon rises.
		const random = new SeededRandom(3);
		const noisy = { ...TRAIN, y: Int32Array.from({ length: TRAIN.rows }, () => random.int(2)) };
		const noisyValidation = {
			...VALIDATION,
			y: Int32Array.from({ length: VALIDATION.rows }, () => random.int(2)),
		};
		const result = await run(
			request(
				{
					layers: [{ units: 64, activation: "relu", dropout: 0 }],
					epochs: 200,
					earlyStopping: {
						monitor: "val_loss",
						patience: 3,
						minDelta: 0,
						restoreBestWeights: true,
					},
				},
				{
					train: noisy,
					validation: noisyValidation,
					predict: { x: noisyValidation.x, rows: noisyValidation.rows },
				},
			),
		);
		expect(result.stoppedEarly).toBe(true);
		expect(result.epochs).toBeLessThan(200);
		expect(result.bestEpoch).toBe(result.epochs - 3);
		expect(result.restoredBestWeights).toBe(true);
		const losses = result.history.map(h => h.validation?.val_loss as number);
		expect(Math.min(...losses)).toBe(losses[result.bestEpoch - 1]);
		// The network returned scores the validation split as the best epoch did, not the last.
		const probabilities = result.predictions as Float32Array;
		let loss = 0;
		for (let r = 0; r < noisyValidation.rows; r++)
			loss -= Math.log(probabilities[r * 2 + noisyValidation.y[r]]);
		loss /= noisyValidation.rows;
		expect(loss).toBeCloseTo(losses[result.bestEpoch - 1], 5);
		expect(Math.abs(loss - losses[losses.length - 1])).toBeGreaterThan(1e-3);
	});

	it("stops between batches when cancelled", async () => {
		let batches = 0;
		const cancelled = run(request({ epochs: 50 }), { isCancelled: () => ++batches >= 3 });
		await expect(cancelled).rejects.toThrow(TrainingCancelledError);
		expect(batches).toBe(3);
		expect(tf.memory().numTensors).toBe(0);
	});

	it("learns a regression in the label's own units (the target scaling folded into the output layer)", async () => {
		const random = new SeededRandom(8);
		const rows = 300;
		const x = Float32Array.from({ length: rows * 2 }, () => random.next() * 2 - 1);
		const y = Float64Array.from(
			{ length: rows },
			(_, r) => 500 + 100 * x[r * 2] - 40 * x[r * 2 + 1],
		);
		const data = { x, rows, width: 2, y };
		const result = await run({
			config: {
				...CONFIG,
				task: "regression",
				outputs: 1,
				layers: [{ units: 16, activation: "tanh", dropout: 0 }],
				epochs: 30,
				batchSize: 32,
				learningRate: 0.05,
			},
			train: data,
			validation: data,
			predict: { x, rows },
			resumeFrom: null,
			exportTfjs: false,
		});
		const last = result.history[result.history.length - 1];
		expect(Object.keys(last.metrics)).toEqual(["mae"]);
		expect(last.validation?.val_mae).toBeLessThan(10);
		const predictions = result.predictions as Float32Array;
		expect(predictions).toHaveLength(rows);
		expect(Math.abs(predictions[0] - y[0])).toBeLessThan(20);
		expect(result.network.layers[1].activation).toBe("linear");
	});
});
