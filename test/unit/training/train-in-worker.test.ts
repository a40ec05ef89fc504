import { performance } from "node:perf_hooks";
import { SeededRandom } from "../../../lib/datasets/seeded-random";
import { InvalidInputError } from "../../../lib/errors";
import { trainInWorker } from "../../../lib/training/train-in-worker";
import type {
	BackendInfo,
	EpochProgress,
	TrainingConfig,
	TrainRequest,
} from "../../../lib/training/training-types";

/** 10 classes by which of the first 10 of 64 features is largest: digits-sized work. */
function data(rows: number, seed: number) {
	const random = new SeededRandom(seed);
	const x = Float32Array.from({ length: rows * 64 }, () => random.next());
	const y = Int32Array.from({ length: rows }, (_, r) => {
		let best = 0;
		for (let c = 1; c < 10; c++) if (x[r * 64 + c] > x[r * 64 + best]) best = c;
		return best;
	});
	return { x, rows, width: 64, y };
}

const CONFIG: TrainingConfig = {
	task: "classification",
	outputs: 10,
	layers: [{ units: 64, activation: "relu", dropout: 0 }],
	optimizer: "adam",
	learningRate: 0.01,
	epochs: 8,
	batchSize: 32,
	earlyStopping: null,
	checkpointEvery: 0,
	seed: 1,
};
const TRAIN = data(2000, 1);
const VALIDATION = data(300, 2);

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
		backend: "wasm",
		exportTfjs: false,
		...extra,
	};
}

describe("trainInWorker", () => {
	it("trains in a worker thread while this thread's event loop stays responsive (its timers keep ticking)", async () => {
		const progress: EpochProgress[] = [];
		const progressAt: number[] = [];
		let backend: BackendInfo | undefined;
		const tickAt: number[] = [];
		const ticker = setInterval(() => tickAt.push(performance.now()), 10);
		const result = await trainInWorker(request(), {
			onBackend: b => (backend = b),
			onProgress: p => {
				progress.push(p);
				progressAt.push(performance.now());
			},
		});
		clearInterval(ticker);
		expect(progress.map(p => p.epoch)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
		// Enough work that, run on this thread, it would have blocked it past the limit.
		expect(result.trainingMs).toBeGreaterThan(100);
		// Judged between the first and the last epoch's report, while the worker trains (starting
		// the worker and loading TF.js is not the question): run on this thread, no timer would fire
		// in that window, so the largest gap would be the whole window. A loaded machine (the full
		// suite on 2 cores) may add a GC pause or a scheduling gap, so the bounds are loose.
		const windowStart = progressAt[0];
		const windowEnd = progressAt[progressAt.length - 1];
		const inWindow = tickAt.filter(t => t > windowStart && t < windowEnd);
		const points = [windowStart, ...inWindow, windowEnd];
		const largestGap = Math.max(...points.slice(1).map((t, i) => t - points[i]));
		const windowMs = windowEnd - windowStart;
		expect(windowMs).toBeGreaterThan(50);
		expect(largestGap).toBeLessThan(windowMs * 0.9);
		// And the timer fired in that window at all, repeatedly (a loaded machine fires a 10 ms
		// timer far less often than every 10 ms, so no rate is asked).
		expect(inWindow.length).toBeGreaterThanOrEqual(5);
		expect(backend).toEqual({
			name: "wasm",
			device: "cpu",
			detail: expect.stringMatching(/^WebAssembly/),
		});
		expect(result.backend).toEqual(backend);
		expect(result.network.layers.map(l => [l.inputs, l.units])).toEqual([
			[64, 64],
			[64, 10],
		]);
	});

	it("hands checkpoints over as Uint8Arrays and resolves only once they are stored", async () => {
		const stored: number[] = [];
		const result = await trainInWorker(request({ epochs: 4, checkpointEvery: 2 }), {
			onCheckpoint: async (epoch, bytes) => {
				expect(bytes).toBeInstanceOf(Uint8Array);
				await new Promise(resolve => setTimeout(resolve, 100));
				stored.push(epoch);
			},
		});
		expect(stored).toEqual([2, 4]);
		expect(result.epochs).toBe(4);
	});

	it("resumes in a worker from a checkpoint, continuing at the next epoch", async () => {
		let checkpoint: Uint8Array | undefined;
		await trainInWorker(request({ epochs: 2, checkpointEvery: 2 }), {
			onCheckpoint: (_, bytes) => void (checkpoint = bytes),
		});
		const epochs: number[] = [];
		const resumed = await trainInWorker(
			request({ epochs: 4, checkpointEvery: 2 }, { resumeFrom: checkpoint as Uint8Array }),
			{ onProgress: p => epochs.push(p.epoch) },
		);
		expect(epochs).toEqual([3, 4]);
		expect(resumed.resumedFromEpoch).toBe(2);
	});

	it("cancels within a batch when the signal aborts, rejecting with its reason", async () => {
		const controller = new AbortController();
		const epochs: number[] = [];
		const started = Date.now();
		const run = trainInWorker(request({ epochs: 500 }), {
			signal: controller.signal,
			onProgress: p => {
				epochs.push(p.epoch);
				controller.abort(new Error("user cancelled"));
			},
		});
		await expect(run).rejects.toThrow("user cancelled");
		expect(epochs).toEqual([1]);
		expect(Date.now() - started).toBeLessThan(10_000);
	});

	it("ends the run, not the process, when a callback throws", async () => {
		const run = trainInWorker(request({ epochs: 500 }), {
			onProgress: () => {
				throw new Error("listener broke");
			},
		});
		await expect(run).rejects.toThrow("listener broke");
	});

	it("rejects at once when the signal has already aborted", async () => {
		const signal = AbortSignal.abort(new Error("too late"));
		await expect(trainInWorker(request(), { signal })).rejects.toThrow("too late");
	});

	it("rebuilds a client error of the worker as the same class (a checkpoint of another job)", async () => {
		const garbage = new TextEncoder().encode("not a checkpoint at all");
		const refused = trainInWorker(request({}, { resumeFrom: garbage }));
		await expect(refused).rejects.toBeInstanceOf(InvalidInputError);
		await expect(trainInWorker(request({}, { resumeFrom: garbage }))).rejects.toThrow(
			/not a modelfleet training checkpoint/,
		);
	});
});
