/**
 * Runs a training request in a worker thread of its own, so the calling node's event loop
 * stays free (TF.js trains synchronously between batches). Progress and checkpoints come back
 * as callbacks; the promise gives the result, rejects with the signal's reason when cancelled
 * (within one batch), and with an InvalidInputError when the request itself is wrong (a
 * checkpoint of another job, say).
 *
 *     const result = await trainInWorker(request, {
 *         onProgress: p => broker.emit("training.progress", { jobId, ...p }),
 *         onCheckpoint: (epoch, bytes) => artifacts.put(bytes),
 *         signal,
 *     });
 */
import { Worker } from "node:worker_threads";
import { InvalidInputError } from "../errors";
import type {
	BackendInfo,
	EpochProgress,
	ExchangeReply,
	TrainRequest,
	TrainResult,
	WorkerMessage,
} from "./training-types";
import { workerFile } from "../process/worker-file";

export interface TrainCallbacks {
	onProgress?(progress: EpochProgress): void;
	/**
	 * A checkpoint after `epoch` epochs. Training goes on meanwhile; the result waits until every
	 * promise returned here has settled, and fails if one rejects.
	 */
	onCheckpoint?(epoch: number, bytes: Uint8Array): void | Promise<void>;
	/** Once the backend is up: which one, on which device. */
	onBackend?(backend: BackendInfo): void;
	/** Aborting cancels the run within one batch; the promise rejects with `signal.reason`. */
	signal?: AbortSignal;
	/**
	 * Data-parallel runs (request.parallel): exchanges a step's contribution with the other
	 * ranks for the reduced vector (lib/training/data-parallel.ts); a rejection fails the run.
	 */
	exchange?(step: number, vector: Float32Array): Promise<Float32Array>;
}

/** After a cancel, the worker is terminated if it has not stopped by itself in this time. */
const CANCEL_GRACE_MS = 5_000;

/** Rebuilds an error the worker reported: client mistakes keep their class. */
function rebuildError(error: { name: string; message: string; data?: Record<string, unknown> }) {
	if (error.name === "InvalidInputError") return new InvalidInputError(error.message, error.data);
	const rebuilt = new Error(`Training failed: ${error.message}`);
	rebuilt.name = error.name;
	return rebuilt;
}

/** Exchanges a data-parallel step's contribution through the callback and answers the worker. */
function answerExchange(
	worker: Worker,
	callbacks: TrainCallbacks,
	step: number,
	vector: Float32Array,
): void {
	const reply = (answer: ExchangeReply, transfer: ArrayBuffer[] = []) => {
		try {
			worker.postMessage(answer, transfer);
		} catch {
			// The worker is gone (the run ended meanwhile): nobody waits for the answer.
		}
	};
	const exchanged = callbacks.exchange
		? callbacks.exchange(step, vector)
		: Promise.reject(new Error("this run has no gradient exchange"));
	exchanged.then(
		reduced => {
			// The worker gets its own copy: the reduced vector may be shared with other ranks' answers.
			const copy = Float32Array.from(reduced);
			reply({ type: "exchanged", step, vector: copy }, [copy.buffer]);
		},
		(error: unknown) =>
			reply({ type: "exchange-failed", step, message: (error as Error).message }),
	);
}

/** Passes the worker's backend, progress and checkpoint messages on; false for the others. */
function forwardToCallbacks(
	message: WorkerMessage,
	callbacks: TrainCallbacks,
	pending: Promise<void>[],
	worker: Worker,
): boolean {
	switch (message.type) {
		case "exchange":
			answerExchange(worker, callbacks, message.step, message.vector);
			return true;
		case "backend":
			callbacks.onBackend?.(message.backend);
			return true;
		case "progress":
			callbacks.onProgress?.(message.progress);
			return true;
		case "checkpoint": {
			const stored = Promise.resolve(callbacks.onCheckpoint?.(message.epoch, message.bytes));
			// Awaited with the result; marked handled here so it cannot go unhandled first.
			stored.catch(() => undefined);
			pending.push(stored);
			return true;
		}
		default:
			return false;
	}
}

export function trainInWorker(
	request: TrainRequest,
	callbacks: TrainCallbacks = {},
): Promise<TrainResult> {
	const { signal } = callbacks;
	if (signal?.aborted) return Promise.reject(signal.reason);
	const cancel = new SharedArrayBuffer(4);
	const { filename, execArgv } = workerFile(__dirname, "training-worker", __filename);
	const worker = new Worker(filename, { execArgv, workerData: { request, cancel } });
	const pending: Promise<void>[] = [];

	return new Promise<TrainResult>((resolve, reject) => {
		let settled = false;
		let answered = false;
		let graceTimer: NodeJS.Timeout | undefined;
		const finish = (outcome: () => void) => {
			if (settled) return;
			settled = true;
			clearTimeout(graceTimer);
			signal?.removeEventListener("abort", onAbort);
			void worker.terminate();
			outcome();
		};
		const onAbort = () => {
			Atomics.store(new Int32Array(cancel), 0, 1);
			graceTimer = setTimeout(() => finish(() => reject(signal?.reason)), CANCEL_GRACE_MS);
			graceTimer.unref();
		};
		signal?.addEventListener("abort", onAbort, { once: true });

		worker.on("message", (message: WorkerMessage) => {
			try {
				handle(message);
			} catch (error) {
				// A callback that throws ends the run rather than the process.
				finish(() => reject(error));
			}
		});
		const handle = (message: WorkerMessage) => {
			if (forwardToCallbacks(message, callbacks, pending, worker)) return;
			switch (message.type) {
				case "done":
					// The worker may exit now; the result waits for the checkpoints being stored.
					answered = true;
					Promise.all(pending).then(
						() => finish(() => resolve(message.result)),
						(error: unknown) => finish(() => reject(error)),
					);
					break;
				case "cancelled":
					finish(() => reject(signal?.reason ?? new Error("Training was cancelled.")));
					break;
				case "error":
					finish(() => reject(rebuildError(message.error)));
					break;
			}
		};
		worker.on("error", error => finish(() => reject(error)));
		worker.on("exit", code => {
			if (!settled && !answered)
				finish(() =>
					reject(
						new Error(`The training worker exited (code ${code}) before finishing.`),
					),
				);
		});
	});
}
