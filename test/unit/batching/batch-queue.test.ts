import { BatchQueue, type BatchQueueHooks, type RunBatch } from "../../../lib/batching/batch-queue";
import type { BatchingOptions } from "../../../lib/batching/batching-options";
import {
	DeadlineExceededError,
	InvalidConfigurationError,
	InvalidInputError,
	ModelLoadError,
	OverloadedError,
} from "../../../lib/errors";
import type { Tensor } from "../../../lib/inference/tensor";
import { FakeClock, settle } from "./fake-clock";

/** `rows` rows of `cols` FP32 values each, counting up from `first`. */
function rowsOf(rows: number, first: number, cols = 2): Tensor {
	const data = Float32Array.from({ length: rows * cols }, (_, i) => first + i);
	return { name: "x", datatype: "FP32", shape: [rows, cols], data };
}

function values(outputs: Tensor[], name = "y"): number[] {
	const output = outputs.find(o => o.name === name);
	return Array.from(output?.data as Float32Array);
}

/**
 * A model that answers y = 10·x and z = -x, one run at a time under the test's control:
 * each run waits until `finish()` (or answers at once when `auto`).
 */
class FakeModel {
	readonly batches: number[] = [];
	private pending: (() => void)[] = [];
	failWith: Error | null = null;

	constructor(private readonly auto = true) {}

	readonly run: RunBatch = (inputs, outputNames) => {
		const x = inputs[0];
		this.batches.push(x.shape[0]);
		const times = (k: number): Tensor => ({
			name: k === 10 ? "y" : "z",
			datatype: "FP32",
			shape: [...x.shape],
			data: (x.data as Float32Array).map(v => k * v),
		});
		const outputs = (outputNames ?? ["y", "z"]).map(n => times(n === "y" ? 10 : -1));
		return new Promise((resolve, reject) => {
			const answer = (): void => (this.failWith ? reject(this.failWith) : resolve(outputs));
			if (this.auto) answer();
			else this.pending.push(answer);
		});
	};

	/** Finishes the oldest run still going. */
	async finish(): Promise<void> {
		this.pending.shift()?.();
		await settle();
	}
}

function queueWith(
	model: FakeModel,
	clock: FakeClock,
	options: Partial<BatchingOptions> = {},
	hooks: BatchQueueHooks = {},
): BatchQueue {
	return new BatchQueue({ name: "model iris:1", run: model.run, options, hooks, timers: clock });
}

/** Records how a promise settled, so tests can look without awaiting it. */
function watch<T>(promise: Promise<T>): { value?: T; error?: unknown; settled: boolean } {
	const state: { value?: T; error?: unknown; settled: boolean } = { settled: false };
	promise.then(
		value => Object.assign(state, { value, settled: true }),
		(error: unknown) => Object.assign(state, { error, settled: true }),
	);
	return state;
}

describe("BatchQueue", () => {
	it("flushes when maxBatchSize is reached and gives each caller its own rows", async () => {
		const model = new FakeModel();
		const queue = queueWith(model, new FakeClock(), { maxBatchSize: 4 });
		const [a, b] = await Promise.all([
			queue.submit({ inputs: [rowsOf(1, 1)] }),
			queue.submit({ inputs: [rowsOf(3, 100)] }),
		]);
		expect(model.batches).toEqual([4]);
		expect(values(a)).toEqual([10, 20]);
		expect(a[0].shape).toEqual([1, 2]);
		expect(values(b)).toEqual([1000, 1010, 1020, 1030, 1040, 1050]);
		expect(values(b, "z")).toEqual([-100, -101, -102, -103, -104, -105]);
	});

	it("waits maxQueueDelayMicros for more requests, then runs what it has", async () => {
		const model = new FakeModel();
		const clock = new FakeClock();
		const queue = queueWith(model, clock, { maxBatchSize: 8, maxQueueDelayMicros: 2000 });
		const first = watch(queue.submit({ inputs: [rowsOf(1, 1)] }));
		await clock.advance(1);
		const second = watch(queue.submit({ inputs: [rowsOf(2, 5)] }));
		await clock.advance(0.999);
		expect(model.batches).toEqual([]);
		await clock.advance(0.001);
		expect(model.batches).toEqual([3]);
		expect(first.value && values(first.value)).toEqual([10, 20]);
		expect(second.value && values(second.value)).toEqual([50, 60, 70, 80]);
		expect(clock.pendingTimers).toBe(0);
	});

	it("runs a request larger than maxBatchSize alone", async () => {
		const model = new FakeModel();
		const queue = queueWith(model, new FakeClock(), {
			maxBatchSize: 4,
			maxQueueDelayMicros: 0,
		});
		await Promise.all([
			queue.submit({ inputs: [rowsOf(1, 1)] }),
			queue.submit({ inputs: [rowsOf(6, 1)] }),
			queue.submit({ inputs: [rowsOf(1, 1)] }),
		]);
		expect(model.batches).toEqual([1, 6, 1]);
	});

	it("keeps requests with different inner dimensions in separate batches", async () => {
		const model = new FakeModel();
		const queue = queueWith(model, new FakeClock(), { maxQueueDelayMicros: 0 });
		const [narrow, wide] = await Promise.all([
			queue.submit({ inputs: [rowsOf(1, 1, 2)] }),
			queue.submit({ inputs: [rowsOf(1, 1, 3)] }),
			queue.submit({ inputs: [rowsOf(2, 1, 2)] }),
		]);
		expect(model.batches).toEqual([3, 1]);
		expect(narrow[0].shape).toEqual([1, 2]);
		expect(wide[0].shape).toEqual([1, 3]);
	});

	it("gives each caller the outputs it asked for, in its order", async () => {
		const model = new FakeModel();
		const queue = queueWith(model, new FakeClock(), { maxQueueDelayMicros: 0 });
		const [a, b] = await Promise.all([
			queue.submit({ inputs: [rowsOf(1, 1)], outputNames: ["y", "z"] }),
			queue.submit({ inputs: [rowsOf(1, 2)], outputNames: ["z", "y"] }),
		]);
		expect(model.batches).toEqual([2]);
		expect(a.map(o => o.name)).toEqual(["y", "z"]);
		expect(b.map(o => o.name)).toEqual(["z", "y"]);
		expect(values(b, "y")).toEqual([20, 30]);
	});

	it("joins requests that arrive while the model is busy into the next batch", async () => {
		const model = new FakeModel(false);
		const queue = queueWith(model, new FakeClock(), { maxQueueDelayMicros: 0 });
		const first = watch(queue.submit({ inputs: [rowsOf(1, 1)] }));
		await settle();
		const later = [1, 2, 3].map(n => watch(queue.submit({ inputs: [rowsOf(n, 1)] })));
		await settle();
		expect(model.batches).toEqual([1]);
		expect(queue.stats()).toMatchObject({ pending: 3, pendingRows: 6, running: 1 });
		await model.finish();
		expect(first.settled).toBe(true);
		expect(model.batches).toEqual([1, 6]);
		await model.finish();
		expect(later.map(s => s.value?.[0].shape[0])).toEqual([1, 2, 3]);
	});

	it("rejects a request whose deadline passes while it waits, without running it", async () => {
		const model = new FakeModel(false);
		const clock = new FakeClock();
		const queue = queueWith(model, clock, { maxQueueDelayMicros: 0 });
		const busy = watch(queue.submit({ inputs: [rowsOf(1, 1)] }));
		await settle();
		const late = watch(queue.submit({ inputs: [rowsOf(1, 1)], deadline: clock.now() + 50 }));
		const patient = watch(queue.submit({ inputs: [rowsOf(2, 1)] }));
		await clock.advance(50);
		expect(late.error).toBeInstanceOf(DeadlineExceededError);
		expect(late.error).toMatchObject({ code: 504, data: { waitedMs: 50 } });
		await model.finish();
		expect(busy.settled).toBe(true);
		expect(model.batches).toEqual([1, 2]);
		await model.finish();
		expect(patient.value?.[0].shape).toEqual([2, 2]);
		expect(queue.stats()).toMatchObject({ expired: 1, succeeded: 2, pending: 0 });
	});

	it("rejects at once a request whose deadline has already passed", async () => {
		const clock = new FakeClock();
		const queue = queueWith(new FakeModel(), clock);
		await expect(
			queue.submit({ inputs: [rowsOf(1, 1)], deadline: clock.now() }),
		).rejects.toBeInstanceOf(DeadlineExceededError);
	});

	it("refuses at once with OverloadedError when the queue is full, hinting from recent run times", async () => {
		const model = new FakeModel(false);
		const clock = new FakeClock();
		const rejected: number[] = [];
		const queue = queueWith(
			model,
			clock,
			{ maxQueueSize: 2, maxBatchSize: 4, maxQueueDelayMicros: 1000 },
			{ requestRejected: e => rejected.push(e.retryAfterMs) },
		);
		// One batch of 40 ms teaches the queue its run time.
		const warm = watch(queue.submit({ inputs: [rowsOf(4, 1)] }));
		await settle();
		await clock.advance(40);
		await model.finish();
		expect(warm.settled).toBe(true);

		const running = watch(queue.submit({ inputs: [rowsOf(4, 1)] }));
		await settle();
		const waiting = [4, 2].map(n => watch(queue.submit({ inputs: [rowsOf(n, 1)] })));
		const refused = await queue.submit({ inputs: [rowsOf(1, 1)] }).catch(e => e);
		expect(refused).toBeInstanceOf(OverloadedError);
		// Six rows waiting make two batches of 40 ms, plus the 1 ms queue delay.
		expect(refused).toMatchObject({ code: 503, data: { retryAfterMs: 81 } });
		expect(rejected).toEqual([81]);
		expect(queue.stats().rejected).toBe(1);

		await model.finish();
		await model.finish();
		// The last two rows wait out the queue delay alone.
		await clock.advance(1);
		await model.finish();
		expect(model.batches).toEqual([4, 4, 4, 2]);
		expect([running, ...waiting].every(s => s.value !== undefined)).toBe(true);
	});

	it("delivers a run failure to every request of the batch, then goes on", async () => {
		const model = new FakeModel();
		const queue = queueWith(model, new FakeClock(), { maxQueueDelayMicros: 0 });
		model.failWith = new Error("CUDA out of memory");
		const results = await Promise.allSettled([
			queue.submit({ inputs: [rowsOf(1, 1)] }),
			queue.submit({ inputs: [rowsOf(2, 1)] }),
		]);
		expect(results.map(r => r.status === "rejected" && (r.reason as Error).message)).toEqual([
			"CUDA out of memory",
			"CUDA out of memory",
		]);
		model.failWith = null;
		await expect(queue.submit({ inputs: [rowsOf(1, 1)] })).resolves.toHaveLength(2);
		expect(queue.stats()).toMatchObject({ failed: 2, succeeded: 1, batches: 2 });
	});

	it("runs each request alone and without delay when batching is disabled", async () => {
		const model = new FakeModel();
		const clock = new FakeClock();
		const queue = queueWith(model, clock, { enabled: false, maxQueueDelayMicros: 10_000 });
		await Promise.all([
			queue.submit({ inputs: [rowsOf(1, 1)] }),
			queue.submit({ inputs: [rowsOf(2, 1)] }),
		]);
		expect(model.batches).toEqual([1, 2]);
		expect(clock.now()).toBe(1_000_000);
	});

	it("reports queue time, compute time, batch size and pending count through hooks", async () => {
		const model = new FakeModel(false);
		const clock = new FakeClock();
		const events: string[] = [];
		const queue = queueWith(
			model,
			clock,
			{ maxQueueDelayMicros: 5000 },
			{
				requestDequeued: e => events.push(`dequeued ${e.outcome} after ${e.queueMs} ms`),
				batchCompleted: e =>
					events.push(
						`batch of ${e.requests} requests, ${e.rows} rows in ${e.computeMs} ms${e.failed ? ", failed" : ""}`,
					),
				pendingChanged: e => events.push(`pending ${e.requests} (${e.rows} rows)`),
			},
		);
		const a = queue.submit({ inputs: [rowsOf(1, 1)] });
		await clock.advance(2);
		const b = queue.submit({ inputs: [rowsOf(2, 1)] });
		await clock.advance(3);
		await clock.advance(7);
		await model.finish();
		await Promise.all([a, b]);
		expect(events).toEqual([
			"pending 1 (1 rows)",
			"pending 2 (3 rows)",
			"pending 0 (0 rows)",
			"dequeued run after 5 ms",
			"dequeued run after 3 ms",
			"batch of 2 requests, 3 rows in 7 ms",
		]);
		expect(queue.stats()).toEqual({
			pending: 0,
			pendingRows: 0,
			running: 0,
			submitted: 2,
			succeeded: 2,
			failed: 0,
			expired: 0,
			rejected: 0,
			batches: 1,
			batchedRows: 3,
			averageBatchMs: 7,
		});
	});

	it("goes on serving when a metrics hook throws", async () => {
		const queue = queueWith(
			new FakeModel(),
			new FakeClock(),
			{ maxQueueDelayMicros: 0 },
			{
				batchCompleted: () => {
					throw new Error("metrics registry gone");
				},
			},
		);
		await expect(queue.submit({ inputs: [rowsOf(1, 1)] })).resolves.toHaveLength(2);
	});

	it("refuses inputs that cannot be batched with InvalidInputError", async () => {
		const queue = queueWith(new FakeModel(), new FakeClock());
		const short: Tensor = { ...rowsOf(2, 1), data: new Float32Array(3) };
		await expect(queue.submit({ inputs: [short] })).rejects.toBeInstanceOf(InvalidInputError);
		expect(queue.pending).toBe(0);
	});

	it("runs what waits at once on close, resolves after the last batch and refuses later requests", async () => {
		const model = new FakeModel(false);
		const clock = new FakeClock();
		const queue = queueWith(model, clock, { maxQueueDelayMicros: 1_000_000 });
		const waiting = watch(queue.submit({ inputs: [rowsOf(1, 1)] }));
		await settle();
		const closed = watch(queue.close());
		await settle();
		expect(model.batches).toEqual([1]);
		expect(closed.settled).toBe(false);
		await expect(queue.submit({ inputs: [rowsOf(1, 1)] })).rejects.toBeInstanceOf(
			ModelLoadError,
		);
		await model.finish();
		expect(waiting.value).toHaveLength(2);
		expect(closed.settled).toBe(true);
	});

	describe("reconfigure", () => {
		it("applies a shorter delay to requests already waiting", async () => {
			const model = new FakeModel();
			const clock = new FakeClock();
			const queue = queueWith(model, clock, { maxQueueDelayMicros: 1_000_000 });
			const waiting = [1, 2].map(n => watch(queue.submit({ inputs: [rowsOf(n, 1)] })));
			await clock.advance(1);
			expect(model.batches).toEqual([]);
			queue.reconfigure({ maxQueueDelayMicros: 0 });
			await settle();
			expect(model.batches).toEqual([3]);
			expect(waiting.map(s => s.value?.[0].shape[0])).toEqual([1, 2]);
			expect(queue.options.maxQueueDelayMicros).toBe(0);
			// The old delay's timer is gone: nothing fires later.
			expect(clock.pendingTimers).toBe(0);
		});

		it("keeps requests waiting beyond a smaller maxQueueSize and refuses only new ones", async () => {
			const model = new FakeModel(false);
			const clock = new FakeClock();
			const queue = queueWith(model, clock, { maxQueueDelayMicros: 0, maxBatchSize: 1 });
			const running = watch(queue.submit({ inputs: [rowsOf(1, 1)] }));
			await settle();
			const waiting = [1, 2, 3].map(n => watch(queue.submit({ inputs: [rowsOf(1, n)] })));
			queue.reconfigure({ maxQueueDelayMicros: 0, maxBatchSize: 1, maxQueueSize: 1 });
			await expect(queue.submit({ inputs: [rowsOf(1, 9)] })).rejects.toBeInstanceOf(
				OverloadedError,
			);
			expect(queue.pending).toBe(3);
			expect(queue.active).toBe(4);
			for (let i = 0; i < 4; i++) await model.finish();
			expect(running.settled).toBe(true);
			expect(waiting.map(s => s.value && values(s.value))).toEqual([
				[10, 20],
				[20, 30],
				[30, 40],
			]);
			expect(queue.active).toBe(0);
		});

		it("turns batching off and on without losing a request", async () => {
			const model = new FakeModel(false);
			const queue = queueWith(model, new FakeClock(), { maxQueueDelayMicros: 0 });
			const first = watch(queue.submit({ inputs: [rowsOf(1, 1)] }));
			await settle();
			const later = [1, 2].map(n => watch(queue.submit({ inputs: [rowsOf(n, 1)] })));
			queue.reconfigure({ enabled: false });
			await model.finish();
			await model.finish();
			queue.reconfigure({ enabled: true, maxQueueDelayMicros: 0 });
			await model.finish();
			expect(model.batches).toEqual([1, 1, 2]);
			expect([first, ...later].every(s => s.value !== undefined)).toBe(true);
		});

		it("refuses wrong settings with InvalidConfigurationError and keeps the old ones", () => {
			const queue = queueWith(new FakeModel(), new FakeClock(), { maxBatchSize: 8 });
			expect(() => queue.reconfigure({ maxBatchSize: 0 })).toThrow(InvalidConfigurationError);
			expect(queue.options.maxBatchSize).toBe(8);
		});
	});
});
