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
	 * The rows the inputs hold, when the caller has checked them already (the predictor's
	 * request validator has): the queue then takes the inputs as consistent. Left out, the
	 * queue checks them itself (InvalidInputError).
	 */
	rows?: number;
	/**
	 * When the request stops being worth running, in ms on the queue's clock (`timers.now()`,
	 * epoch milliseconds by default). Still waiting then, it is rejected with
	 * DeadlineExceededError and not run. Left out: it waits as long as it takes.
	 */
	deadline?: number;
}

/** Runs one batch on the model: `LoadedModel.run`, in production. */
export type RunBatch = (
	inputs: readonly Tensor[],
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
 * Hooks for metrics, each with its payload type. They run synchronously on the
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
	private current: Readonly<BatchingOptions>;
	private readonly run: RunBatch;
	private readonly hooks: BatchQueueHooks;
	private readonly timers: Timers;

	private waiting: Waiting[] = [];
	private waitingRows = 0;
	private running = 0;
	/** Requests in the batches running now. */
	private runningRequests = 0;
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
		this.current = resolveBatchingOptions(config.options);
		this.hooks = config.hooks ?? {};
		this.timers = config.timers ?? SYSTEM_TIMERS;
	}

	/** The settings in force (merged with the defaults, validated, frozen). */
	get options(): Readonly<BatchingOptions> {
		return this.current;
	}

	/**
	 * Applies new settings (merged with DEFAULT_BATCHING_OPTIONS and validated, as at
	 * construction) to the live queue. Nothing waiting is dropped, even when more requests wait
	 * than a smaller `maxQueueSize` allows (only new ones are refused then); the next decision
	 * uses the new settings, so a shorter delay or a smaller `maxBatchSize` takes effect at once.
	 * @throws InvalidConfigurationError for a wrong setting; the old settings then stay
	 */
	reconfigure(options: Partial<BatchingOptions>): void {
		const resolved = resolveBatchingOptions(options);
		// Requests queued while batching was off have no group yet (see `enqueue`).
		if (resolved.enabled && !this.current.enabled) {
			for (const request of this.waiting)
				request.group = batchGroup(request.inputs, request.outputNames);
		}
		this.current = resolved;
		this.scheduleEvaluate();
	}

	/**
	 * Queues a request and resolves with its own rows of the requested outputs. Rejects with
	 * InvalidInputError (inputs that cannot be batched), OverloadedError (queue full, at once),
	 * DeadlineExceededError (deadline passed while waiting), ModelLoadError (queue closed) or
	 * the run's own error (shared by the whole batch).
	 */
	submit(request: BatchRequest): Promise<Tensor[]> {
		try {
			return this.enqueue(request);
		} catch (error) {
			return Promise.reject(error);
		}
	}

	private enqueue(request: BatchRequest): Promise<Tensor[]> {
		if (this.closed) {
			throw new ModelLoadError(this.name, "it is being unloaded from this node; retry.");
		}
		const options = this.current;
		const rows = request.rows ?? requestRows(request.inputs);
		// Without batching nothing joins anything: the group is needed only once it is on.
		const group = options.enabled ? batchGroup(request.inputs, request.outputNames) : "";
		const now = this.timers.now();
		this.counts.submitted++;
		if (request.deadline !== undefined && request.deadline <= now) {
			this.counts.expired++;
			this.emit("requestDequeued", { queueMs: 0, outcome: "expired" });
			throw new DeadlineExceededError(0);
		}
		if (this.waiting.length >= options.maxQueueSize) {
			const retryAfterMs = this.retryAfterMs();
			this.counts.rejected++;
			this.emit("requestRejected", { retryAfterMs });
			throw new OverloadedError(this.name, retryAfterMs);
		}
		if (
			this.waiting.length === 0 &&
			this.running < options.maxConcurrentBatches &&
			(!options.enabled || rows >= options.maxBatchSize)
		) {
			// A request that would run alone at the next decision anyway (nothing may join it)
			// and finds a free slot runs now, without the hand-off: the same outcome, cheaper.
			return this.runAlone(request, rows, now);
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
			this.scheduleEvaluate();
		});
	}

	/**
	 * Decides once per tick, in a microtask: requests that arrive together share a batch even
	 * with no queue delay, and a lone request pays next to nothing for the hand-off.
	 */
	private scheduleEvaluate(): void {
		if (this.evaluateQueued) return;
		this.evaluateQueued = true;
		queueMicrotask(this.evaluateNow);
	}

	private readonly evaluateNow = (): void => this.evaluate();

	/** Requests waiting (not running yet). */
	get pending(): number {
		return this.waiting.length;
	}

	/** Requests waiting or in a batch that is running: the version's live load. */
	get active(): number {
		return this.waiting.length + this.runningRequests;
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
		const options = this.current;
		const perBatch = this.averageBatchMs ?? FIRST_BATCH_GUESS_MS;
		const batchesAhead = options.enabled
			? Math.ceil(this.waitingRows / options.maxBatchSize)
			: this.waiting.length;
		const ms =
			(Math.max(1, batchesAhead) * perBatch) / options.maxConcurrentBatches +
			options.maxQueueDelayMicros / 1000;
		return Math.max(1, ms);
	}

	/** Runs what the decision says, until it says wait; `at`: the time now, when known. */
	private evaluate(at?: number): void {
		this.evaluateQueued = false;
		if (this.waiting.length === 0) {
			this.setWake(null, 0);
			this.notifyIdle();
			return;
		}
		for (let first = true; ; first = false) {
			const now = first && at !== undefined ? at : this.timers.now();
			const options = this.current;
			const decision = decideBatch(
				{
					waiting: this.waiting,
					now,
					freeSlots: options.maxConcurrentBatches - this.running,
					draining: this.closed,
				},
				options,
			);
			const { expired: expiredAt, batch: batchAt } = decision;
			if (expiredAt.length === 0 && batchAt.length === 0) {
				this.setWake(decision.wakeAt, now);
				this.notifyIdle();
				return;
			}
			const expired = expiredAt.map(index => this.waiting[index]);
			const batch = batchAt.map(index => this.waiting[index]);
			this.removeWaiting(expiredAt, batchAt);
			for (const request of expired) this.waitingRows -= request.rows;
			for (const request of batch) this.waitingRows -= request.rows;
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
			if (this.hooks.requestDequeued !== undefined) {
				for (const request of batch) {
					const queueMs = now - request.enqueuedAt;
					this.emit("requestDequeued", { queueMs, outcome: "run" });
				}
			}
			void this.runBatch(batch, now);
		}
	}

	/** Takes the requests at these indices (each list ascending) out of `waiting`. */
	private removeWaiting(expired: readonly number[], batch: readonly number[]): void {
		const waiting = this.waiting;
		// The usual case: nothing expired and a batch of the oldest requests, in order.
		if (expired.length === 0 && batch[batch.length - 1] === batch.length - 1) {
			this.waiting = batch.length === waiting.length ? [] : waiting.slice(batch.length);
			return;
		}
		const taken = new Set([...expired, ...batch]);
		this.waiting = waiting.filter((_, index) => !taken.has(index));
	}

	/** Runs one request as a batch of its own, straight away: the run's promise, chained. */
	private runAlone(request: BatchRequest, rows: number, startedAt: number): Promise<Tensor[]> {
		if (this.hooks.requestDequeued !== undefined)
			this.emit("requestDequeued", { queueMs: 0, outcome: "run" });
		this.started(1);
		const { outputNames } = request;
		let running: Promise<Tensor[]>;
		try {
			running = this.run(request.inputs, outputNames);
		} catch (error) {
			running = Promise.reject(error);
		}
		return running.then(
			outputs => {
				this.finished(1, rows, startedAt, false);
				return inOrder(outputs, outputNames);
			},
			(error: unknown) => {
				this.finished(1, rows, startedAt, true);
				throw error;
			},
		);
	}

	private async runBatch(batch: readonly Waiting[], startedAt: number): Promise<void> {
		this.started(batch.length);
		let results: Tensor[][] | undefined;
		let failure: unknown;
		let rows = 0;
		for (const request of batch) rows += request.rows;
		try {
			if (batch.length === 1) {
				// Alone: its own tensors in, the outputs straight back (no join, no split).
				results = [await this.run(batch[0].inputs, batch[0].outputNames)];
			} else {
				const inputs = concatRows(batch.map(request => request.inputs));
				const outputs = await this.run(inputs, batch[0].outputNames);
				results = splitRows(
					outputs,
					batch.map(request => request.rows),
				);
			}
		} catch (error) {
			failure = error;
		}
		const finishedAt = this.finished(
			batch.length,
			rows,
			startedAt,
			results === undefined,
			true,
		);
		for (let index = 0; index < batch.length; index++) {
			const request = batch[index];
			if (results) request.resolve(inOrder(results[index], request.outputNames));
			else request.reject(failure);
		}
		this.evaluate(finishedAt);
	}

	private started(requests: number): void {
		this.running++;
		this.runningRequests += requests;
	}

	/**
	 * The bookkeeping of a batch that ended: counts, the run-time average, the hook; then,
	 * unless the caller does it after answering the batch's requests, the next decision.
	 * @returns the time it ended
	 */
	private finished(
		requests: number,
		rows: number,
		startedAt: number,
		failed: boolean,
		callerEvaluates = false,
	): number {
		const finishedAt = this.timers.now();
		const computeMs = finishedAt - startedAt;
		this.running--;
		this.runningRequests -= requests;
		this.averageBatchMs =
			this.averageBatchMs === null
				? computeMs
				: this.averageBatchMs + AVERAGE_WEIGHT * (computeMs - this.averageBatchMs);
		this.counts.batches++;
		this.counts.batchedRows += rows;
		this.counts[failed ? "failed" : "succeeded"] += requests;
		if (this.hooks.batchCompleted !== undefined) {
			this.emit("batchCompleted", { requests, rows, computeMs, failed });
		}
		if (!callerEvaluates && (this.waiting.length > 0 || this.closed)) this.evaluate(finishedAt);
		return finishedAt;
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
		if (this.hooks.pendingChanged === undefined) return;
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
