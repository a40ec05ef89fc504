/**
 * Dynamic batching for one loaded model version: requests wait briefly, compatible ones are
 * joined along the batch axis, the model runs once, and each caller gets its own rows back.
 * What runs when is decided by `decideBatch`; this class keeps the queue, the timer and the
 * promises, and reports what happened through hooks the service turns into metrics.
 */
import { DeadlineExceededError, ModelLoadError, OverloadedError } from "../errors";
import type { Tensor } from "../inference/tensor";
import { decideBatch, type WaitingRequest } from "./batch-decision";
import { resolveBatchingOptions, type BatchingOptions } from "./batching-options";
import { batchGroup, concatRows, requestRows, splitRows } from "./tensor-rows";
import { SYSTEM_TIMERS, type CancelTimer, type Timers } from "./timers";

export interface BatchRequest {
	/** The inputs; the first dimension of each is its rows (one or more). */
	inputs: readonly Tensor[];
	/** The outputs wanted, in the order wanted; left out, all the model has. */
	outputNames?: readonly string[];
	/**
	 * When the request stops being worth running, in ms on the queue's clock (`timers.now()`,
	 * epoch milliseconds by default). Still waiting then, it is rejected with
	 * DeadlineExceededError and not run. Left out: it waits as long as it takes.
	 */
	deadline?: number;
}

/** Runs one batch on the model: `LoadedModel.run`, in production. */
export type RunBatch = (
	inputs: Tensor[],
	outputNames: readonly string[] | undefined,
) => Promise<Tensor[]>;

export interface RequestDequeuedEvent {
	/** How long the request waited, in ms. */
	queueMs: number;
	/** "run": it left in a batch; "expired": its deadline passed first. */
	outcome: "run" | "expired";
}

export interface BatchCompletedEvent {
	requests: number;
	rows: number;
	/** How long the run took, joining and splitting included, in ms. */
	computeMs: number;
	/** The run failed; every request of the batch got its error. */
	failed: boolean;
}

export interface PendingChangedEvent {
	requests: number;
	rows: number;
}

export interface RequestRejectedEvent {
	/** The retry-after hint the caller got. */
	retryAfterMs: number;
}

/**
 * Hooks for metrics, each with its payload type (STYLE.md §9). They run synchronously on the
 * queue's path; one that throws is ignored, since metrics must never break serving.
 */
export interface BatchQueueHooks {
	requestDequeued?(event: RequestDequeuedEvent): void;
	batchCompleted?(event: BatchCompletedEvent): void;
	pendingChanged?(event: PendingChangedEvent): void;
	/** A request was refused with OverloadedError because the queue was full. */
	requestRejected?(event: RequestRejectedEvent): void;
}

export interface BatchQueueStats {
	/** Requests waiting (not running yet). */
	pending: number;
	pendingRows: number;
	/** Batches running now. */
	running: number;
	submitted: number;
	/** Requests answered with outputs. */
	succeeded: number;
	/** Requests that got their batch's run error. */
	failed: number;
	/** Requests dropped at their deadline. */
	expired: number;
	/** Requests refused because the queue was full. */
	rejected: number;
	batches: number;
	batchedRows: number;
	/** Moving average of a batch's run time (ms); null before the first batch. */
	averageBatchMs: number | null;
}

export interface BatchQueueConfig {
	/** What the queue serves, for messages: e.g. "model fraud-scorer:3". */
	name: string;
	run: RunBatch;
	/** Merged with DEFAULT_BATCHING_OPTIONS and validated here. */
	options?: Partial<BatchingOptions>;
	hooks?: BatchQueueHooks;
	/** Default SYSTEM_TIMERS; tests pass a fake clock. */
	timers?: Timers;
}

/** The run time assumed for the retry-after hint before any batch has run. */
const FIRST_BATCH_GUESS_MS = 10;
/** Weight of the newest batch in the moving average of run times. */
const AVERAGE_WEIGHT = 0.2;

interface Waiting extends WaitingRequest {
	inputs: readonly Tensor[];
	outputNames: readonly string[] | undefined;
	resolve(outputs: Tensor[]): void;
	reject(error: unknown): void;
}

export class BatchQueue {
	readonly name: string;
	readonly options: Readonly<BatchingOptions>;
	private readonly run: RunBatch;
	private readonly hooks: BatchQueueHooks;
	private readonly timers: Timers;

	private waiting: Waiting[] = [];
	private waitingRows = 0;
	private running = 0;
	private closed = false;
	private evaluateQueued = false;
	private timer: { at: number; cancel: CancelTimer } | null = null;
	private averageBatchMs: number | null = null;
	private idleWaiters: (() => void)[] = [];
	private readonly counts = {
		submitted: 0,
		succeeded: 0,
		failed: 0,
		expired: 0,
		rejected: 0,
		batches: 0,
		batchedRows: 0,
	};

	constructor(config: BatchQueueConfig) {
		this.name = config.name;
		this.run = config.run;
		this.options = resolveBatchingOptions(config.options);
		this.hooks = config.hooks ?? {};
		this.timers = config.timers ?? SYSTEM_TIMERS;
	}

	/**
	 * Queues a request and resolves with its own rows of the requested outputs. Rejects with
	 * InvalidInputError (inputs that cannot be batched), OverloadedError (queue full, at once),
	 * DeadlineExceededError (deadline passed while waiting), ModelLoadError (queue closed) or
	 * the run's own error (shared by the whole batch).
	 */
	async submit(request: BatchRequest): Promise<Tensor[]> {
		if (this.closed) {
			throw new ModelLoadError(this.name, "it is being unloaded from this node; retry.");
		}
		const rows = requestRows(request.inputs);
		const group = batchGroup(request.inputs, request.outputNames);
		const now = this.timers.now();
		this.counts.submitted++;
		if (request.deadline !== undefined && request.deadline <= now) {
			this.counts.expired++;
			this.emit("requestDequeued", { queueMs: 0, outcome: "expired" });
			throw new DeadlineExceededError(0);
		}
		if (this.waiting.length >= this.options.maxQueueSize) {
			const retryAfterMs = this.retryAfterMs();
			this.counts.rejected++;
			this.emit("requestRejected", { retryAfterMs });
			throw new OverloadedError(this.name, retryAfterMs);
		}
		return new Promise<Tensor[]>((resolve, reject) => {
			this.waiting.push({
				rows,
				group,
				enqueuedAt: now,
				deadline: request.deadline,
				inputs: request.inputs,
				outputNames: request.outputNames,
				resolve,
				reject,
			});
			this.waitingRows += rows;
			this.emitPending();
			// Deciding once per tick lets requests that arrive together share a batch even
			// with no queue delay.
			if (!this.evaluateQueued) {
				this.evaluateQueued = true;
				queueMicrotask(() => this.evaluate());
			}
		});
	}

	/** Requests waiting (not running yet). */
	get pending(): number {
		return this.waiting.length;
	}

	stats(): BatchQueueStats {
		return {
			pending: this.waiting.length,
			pendingRows: this.waitingRows,
			running: this.running,
			...this.counts,
			averageBatchMs: this.averageBatchMs,
		};
	}

	/**
	 * Stops taking requests (new ones get a retryable ModelLoadError), runs what is waiting
	 * without waiting out the delay, and resolves once every batch has finished: the model
	 * can then be disposed.
	 */
	close(): Promise<void> {
		this.closed = true;
		const idle = new Promise<void>(resolve => this.idleWaiters.push(resolve));
		this.evaluate();
		return idle;
	}

	/** How long a refused caller should wait: the queue ahead, at the recent run time. */
	private retryAfterMs(): number {
		const perBatch = this.averageBatchMs ?? FIRST_BATCH_GUESS_MS;
		const batchesAhead = this.options.enabled
			? Math.ceil(this.waitingRows / this.options.maxBatchSize)
			: this.waiting.length;
		const ms =
			(Math.max(1, batchesAhead) * perBatch) / this.options.maxConcurrentBatches +
			this.options.maxQueueDelayMicros / 1000;
		return Math.max(1, ms);
	}

	private evaluate(): void {
		this.evaluateQueued = false;
		for (;;) {
			const now = this.timers.now();
			const decision = decideBatch(
				{
					waiting: this.waiting,
					now,
					freeSlots: this.options.maxConcurrentBatches - this.running,
					draining: this.closed,
				},
				this.options,
			);
			if (decision.expired.length === 0 && decision.batch.length === 0) {
				this.setWake(decision.wakeAt, now);
				this.notifyIdle();
				return;
			}
			const expired = decision.expired.map(index => this.waiting[index]);
			const batch = decision.batch.map(index => this.waiting[index]);
			const taken = new Set([...decision.expired, ...decision.batch]);
			this.waiting = this.waiting.filter((_, index) => !taken.has(index));
			for (const request of [...expired, ...batch]) this.waitingRows -= request.rows;
			this.emitPending();
			for (const request of expired) {
				const queueMs = now - request.enqueuedAt;
				this.counts.expired++;
				this.emit("requestDequeued", { queueMs, outcome: "expired" });
				request.reject(new DeadlineExceededError(queueMs));
			}
			if (batch.length === 0) {
				this.setWake(decision.wakeAt, now);
				this.notifyIdle();
				return;
			}
			for (const request of batch) {
				this.emit("requestDequeued", { queueMs: now - request.enqueuedAt, outcome: "run" });
			}
			void this.runBatch(batch, now);
		}
	}

	private async runBatch(batch: readonly Waiting[], startedAt: number): Promise<void> {
		this.running++;
		let results: Tensor[][] | undefined;
		let failure: unknown;
		try {
			const inputs = concatRows(batch.map(request => request.inputs));
			const outputs = await this.run(inputs, batch[0].outputNames);
			results = splitRows(
				outputs,
				batch.map(request => request.rows),
			);
		} catch (error) {
			failure = error;
		}
		const computeMs = this.timers.now() - startedAt;
		this.running--;
		this.averageBatchMs =
			this.averageBatchMs === null
				? computeMs
				: this.averageBatchMs + AVERAGE_WEIGHT * (computeMs - this.averageBatchMs);
		const rows = batch.reduce((sum, request) => sum + request.rows, 0);
		this.counts.batches++;
		this.counts.batchedRows += rows;
		this.counts[results ? "succeeded" : "failed"] += batch.length;
		this.emit("batchCompleted", {
			requests: batch.length,
			rows,
			computeMs,
			failed: results === undefined,
		});
		batch.forEach((request, index) => {
			if (results) request.resolve(inOrder(results[index], request.outputNames));
			else request.reject(failure);
		});
		this.evaluate();
	}

	private setWake(at: number | null, now: number): void {
		if (this.timer !== null && this.timer.at === at) return;
		this.timer?.cancel();
		this.timer = null;
		if (at === null) return;
		this.timer = {
			at,
			cancel: this.timers.setTimer(() => {
				this.timer = null;
				this.evaluate();
			}, at - now),
		};
	}

	private notifyIdle(): void {
		if (!this.closed || this.running > 0 || this.waiting.length > 0) return;
		const waiters = this.idleWaiters;
		this.idleWaiters = [];
		for (const resolve of waiters) resolve();
	}

	private emitPending(): void {
		this.emit("pendingChanged", { requests: this.waiting.length, rows: this.waitingRows });
	}

	private emit<K extends keyof BatchQueueHooks>(
		hook: K,
		event: Parameters<NonNullable<BatchQueueHooks[K]>>[0],
	): void {
		try {
			(this.hooks[hook] as ((event: unknown) => void) | undefined)?.call(this.hooks, event);
		} catch {
			// A metrics hook must never break serving.
		}
	}
}

/** The caller's outputs in the order it asked for them (requests of a batch may differ). */
function inOrder(outputs: Tensor[], outputNames: readonly string[] | undefined): Tensor[] {
	if (outputNames === undefined) return outputs;
	const byName = new Map(outputs.map(output => [output.name, output]));
	const ordered = outputNames.map(name => byName.get(name));
	return ordered.every(output => output !== undefined) ? (ordered as Tensor[]) : outputs;
}
