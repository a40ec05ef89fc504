import { SeededRandom } from "../../../lib/datasets/seeded-random";
import type { TfModule } from "../../../lib/runtimes/tfjs/load-tfjs";
import {
	contribution,
	rankSeed,
	readReduced,
	reduceContributions,
	shardRange,
	vectorBytes,
	vectorOf,
} from "../../../lib/training/data-parallel";
import { GradientRendezvous } from "../../../lib/training/gradient-rendezvous";
import { loadTrainingBackend } from "../../../lib/training/tfjs-backend";
import { runTrainingLoop } from "../../../lib/training/training-loop";
import type {
	BackendInfo,
	EpochProgress,
	TrainingConfig,
	TrainingData,
	TrainRequest,
	TrainResult,
} from "../../../lib/training/training-types";
import { maxRelativeDifference } from "./network-reference";

let tf: TfModule;
let backend: BackendInfo;

beforeAll(async () => {
	({ tf, backend } = await loadTrainingBackend("wasm", false));
});

/** Three classes by the sign pattern of x0 and x1, 5 features in [-1, 1). */
function blobs(rows: number, seed: number): TrainingData {
	const random = new SeededRandom(seed);
	const x = Float32Array.from({ length: rows * 5 }, () => random.next() * 2 - 1);
	const y = Int32Array.from({ length: rows }, (_, r) =>
		x[r * 5] > 0 ? (x[r * 5 + 1] > 0 ? 2 : 1) : 0,
	);
	return { x, rows, width: 5, y };
}

describe("shardRange", () => {
	it("splits a batch into contiguous shards that cover it once, sizes apart by at most one", () => {
		for (const [rows, size] of [
			[32, 2],
			[33, 2],
			[7, 3],
			[2, 4],
			[0, 2],
			[5, 1],
		]) {
			const shards = Array.from({ length: size }, (_, r) => shardRange(rows, r, size));
			expect(shards[0].start).toBe(0);
			expect(shards[size - 1].end).toBe(rows);
			for (let r = 1; r < size; r++) expect(shards[r].start).toBe(shards[r - 1].end);
			const lengths = shards.map(s => s.end - s.start);
			expect(Math.max(...lengths) - Math.min(...lengths)).toBeLessThanOrEqual(1);
		}
		expect(() => shardRange(10, 2, 2)).toThrow(RangeError);
		expect(() => shardRange(10, 0, 0)).toThrow(RangeError);
	});
});

describe("gradient averaging", () => {
	it("averages two shards' gradients, weighted by their rows, to the full batch's gradient within 1e-6", () => {
		const data = blobs(37, 3);
		const random = new SeededRandom(9);
		const init = (n: number) => Float32Array.from({ length: n }, () => random.next() - 0.5);
		const w1 = tf.variable(tf.tensor2d(init(5 * 8), [5, 8]));
		const b1 = tf.variable(tf.tensor1d(init(8)));
		const w2 = tf.variable(tf.tensor2d(init(8 * 3), [8, 3]));
		const b2 = tf.variable(tf.tensor1d(init(3)));
		const vars = [w1, b1, w2, b2];
		const gradientsOf = (from: number, to: number) => {
			const n = to - from;
			const x = tf.tensor2d(data.x.slice(from * 5, to * 5), [n, 5]);
			const y = tf.tidy(() =>
				tf.oneHot(tf.tensor1d(data.y.slice(from, to) as Int32Array, "int32"), 3),
			);
			const { value, grads } = tf.variableGrads(() => {
				const h = tf.relu(tf.add(tf.matMul(x, w1), b1));
				const out = tf.add(tf.matMul(h, w2), b2);
				return tf.losses.softmaxCrossEntropy(y, out) as ReturnType<typeof tf.scalar>;
			}, vars);
			const values = vars.map(v => Float32Array.from(grads[v.name].dataSync()));
			const loss = value.dataSync()[0];
			tf.dispose([x, y, value, ...Object.values(grads)]);
			return { values, loss };
		};
		const full = gradientsOf(0, 37);
		const { start, end } = shardRange(37, 0, 2);
		const a = gradientsOf(start, end);
		const b = gradientsOf(end, 37);
		expect(end - start).toBe(19);
		const reduced = reduceContributions([
			contribution(a.values, 19, a.loss * 19, 0),
			contribution(b.values, 18, b.loss * 18, 0),
		]);
		const out = readReduced(
			reduced,
			vars.map(v => v.size),
		);
		expect(out.rows).toBe(37);
		expect(out.lossSum / 37).toBeCloseTo(full.loss, 5);
		for (let i = 0; i < vars.length; i++) {
			const difference = Math.max(
				...out.gradients[i].map((g, j) => Math.abs(g - full.values[i][j])),
			);
			expect(difference).toBeLessThan(1e-6);
		}
		tf.dispose(vars);
	});

	it("refuses contributions of different networks and vectors of another length", () => {
		expect(() => reduceContributions([new Float32Array(5), new Float32Array(6)])).toThrow(
			/differ in length/,
		);
		expect(() => readReduced(new Float32Array(5), [3])).toThrow(/needs 6/);
	});

	it("crosses the bus as bytes and back, aligned whatever the Buffer's offset", () => {
		const vector = Float32Array.from([1.5, -2, 3.25]);
		const padded = Buffer.concat([Buffer.from([7]), vectorBytes(vector)]).subarray(1);
		expect(Array.from(vectorOf(padded))).toEqual([1.5, -2, 3.25]);
		expect(() => vectorOf(new Uint8Array(5))).toThrow(RangeError);
	});

	it("salts every rank's dropout seed but rank 0's", () => {
		expect(rankSeed(12345, 0)).toBe(12345);
		expect(rankSeed(12345, 1)).not.toBe(12345);
		expect(rankSeed(12345, 1)).not.toBe(rankSeed(12345, 2));
	});
});

describe("GradientRendezvous", () => {
	const timeouts = { firstStepMs: 200, stepMs: 100 };

	it("answers every rank the same reduced vector once all have contributed", async () => {
		const rendezvous = new GradientRendezvous(2, timeouts);
		const a = rendezvous.contribute(0, 1, contribution([Float32Array.from([2])], 1, 1, 0));
		const b = rendezvous.contribute(0, 0, contribution([Float32Array.from([4])], 3, 3, 1));
		const [ra, rb] = await Promise.all([a, b]);
		expect(Array.from(ra)).toEqual([3.5, 4, 1, 4]);
		expect(rb).toBe(ra);
	});

	it("fails a step whose rank is missing past the timeout, naming it, and every step after", async () => {
		const rendezvous = new GradientRendezvous(3, timeouts);
		const waiting = rendezvous.contribute(0, 0, contribution([new Float32Array(1)], 1, 0, 0));
		void rendezvous
			.contribute(0, 2, contribution([new Float32Array(1)], 1, 0, 0))
			.catch(() => undefined);
		await expect(waiting).rejects.toMatchObject({
			missingRanks: [1],
			message: expect.stringMatching(/step 0: rank 1 sent no gradients within 200 ms/),
		});
		await expect(rendezvous.contribute(1, 0, new Float32Array(4))).rejects.toThrow(/rank 1/);
	});

	it("fails waiting ranks at once when told a rank is gone", async () => {
		const rendezvous = new GradientRendezvous(2, { firstStepMs: 60_000, stepMs: 60_000 });
		const waiting = rendezvous.contribute(0, 0, new Float32Array(4));
		rendezvous.fail("rank 1's node worker-2 left the fleet", [1]);
		await expect(waiting).rejects.toThrow(/worker-2 left/);
		expect(rendezvous.failed).toBe(true);
	});
});

describe("data-parallel training loop", () => {
	const config: TrainingConfig = {
		task: "classification",
		outputs: 3,
		layers: [{ units: 12, activation: "relu", dropout: 0 }],
		optimizer: "sgd",
		learningRate: 0.1,
		epochs: 4,
		batchSize: 20,
		earlyStopping: null,
		checkpointEvery: 0,
		seed: 21,
	};
	const train = blobs(150, 4);
	const request = (over: Partial<TrainingConfig>, parallel: TrainRequest["parallel"]) => ({
		config: { ...config, ...over },
		train,
		validation: blobs(40, 5),
		predict: null,
		resumeFrom: null,
		exportTfjs: false,
		parallel,
	});

	/** `size` ranks in this process, joined by a rendezvous; each rank's result and progress. */
	async function ranks(size: number, over: Partial<TrainingConfig> = {}) {
		const rendezvous = new GradientRendezvous(size, { firstStepMs: 10_000, stepMs: 10_000 });
		const progress: EpochProgress[][] = Array.from({ length: size }, () => []);
		const results: TrainResult[] = await Promise.all(
			Array.from({ length: size }, (_, rank) =>
				runTrainingLoop(tf, backend, request(over, { rank, size }), {
					exchange: (step, vector) => rendezvous.contribute(step, rank, vector),
					onProgress: p => progress[rank].push(p),
				}),
			),
		);
		return { results, progress };
	}

	it("trains with 2 workers to the weights of 1 worker (sgd: the same gradients), replicas identical", async () => {
		const tensorsBefore = tf.memory().numTensors;
		const single = await runTrainingLoop(tf, backend, request({}, null));
		const { results, progress } = await ranks(2);
		const [a, b] = results;
		for (let l = 0; l < 2; l++) {
			expect(Array.from(b.network.layers[l].kernel)).toEqual(
				Array.from(a.network.layers[l].kernel),
			);
			expect(
				maxRelativeDifference(single.network.layers[l].kernel, a.network.layers[l].kernel),
			).toBeLessThan(1e-4);
		}
		// The loss is the whole batch's, as one worker reports it.
		expect(progress[0][3].loss).toBeCloseTo(single.history[3].loss, 4);
		expect(progress[0][0].communication).toEqual({
			workers: 2,
			steps: 8,
			msPerStep: expect.any(Number),
			// (12·5 + 12 + 12·3 + 3 + 3 tail) float32s, sent by rank 1 and answered to it.
			bytesPerStep: 2 * 4 * (60 + 12 + 36 + 3 + 3),
		});
		expect(single.history[0].communication).toBeUndefined();
		expect(tf.memory().numTensors).toBe(tensorsBefore);
	});

	it("keeps replicas identical with adam and dropout, each rank masking its own shard", async () => {
		const over = {
			optimizer: "adam" as const,
			learningRate: 0.02,
			layers: [{ units: 12, activation: "relu" as const, dropout: 0.3 }],
		};
		const { results } = await ranks(3, over);
		const kernel = (r: TrainResult) => Array.from(r.network.layers[0].kernel);
		expect(kernel(results[1])).toEqual(kernel(results[0]));
		expect(kernel(results[2])).toEqual(kernel(results[0]));
		// The same seed and worker count reproduce the run.
		const again = await ranks(3, over);
		expect(kernel(again.results[0])).toEqual(kernel(results[0]));
		expect(results[0].history[3].validation?.val_accuracy).toBeGreaterThan(0.8);
	});
});
