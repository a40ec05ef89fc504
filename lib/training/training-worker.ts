/**
 * The worker thread a training run lives in (started by train-in-worker.ts): loads TF.js with
 * the chosen backend, runs the loop, and posts progress, checkpoints and the result back. The
 * parent cancels by setting a shared flag that the loop reads between batches, so a cancel
 * lands within one batch even while the loop never yields to this thread's event loop.
 */
import { parentPort, workerData } from "node:worker_threads";
import { loadTrainingBackend } from "./tfjs-backend";
import { runTrainingLoop, TrainingCancelledError } from "./training-loop";
import type { ExchangeReply, TrainRequest, WorkerMessage } from "./training-types";

interface WorkerInput {
	request: TrainRequest;
	/** Int32Array over it: [0] becomes 1 to cancel. */
	cancel: SharedArrayBuffer;
}

const port = parentPort;
if (!port) throw new Error("training-worker.ts runs as a worker thread only");
const post = (message: WorkerMessage, transfer: ArrayBuffer[] = []) =>
	port.postMessage(message, transfer);

/** Data-parallel steps waiting for their reduced vector from the parent, by step. */
const exchanges = new Map<number, { resolve(v: Float32Array): void; reject(e: Error): void }>();
port.on("message", (reply: ExchangeReply) => {
	const waiting = exchanges.get(reply.step);
	if (!waiting) return;
	exchanges.delete(reply.step);
	if (reply.type === "exchanged") waiting.resolve(reply.vector);
	else waiting.reject(new Error(reply.message));
});

/** Sends a step's contribution to the parent, which exchanges it with the other ranks. */
function exchange(step: number, vector: Float32Array): Promise<Float32Array> {
	return new Promise((resolve, reject) => {
		exchanges.set(step, { resolve, reject });
		post({ type: "exchange", step, vector }, [vector.buffer as ArrayBuffer]);
	});
}

async function main(): Promise<void> {
	const { request, cancel } = workerData as WorkerInput;
	const flag = new Int32Array(cancel);
	try {
		const { tf, backend } = await loadTrainingBackend(
			request.backend ?? "auto",
			request.gpu ?? false,
		);
		post({ type: "backend", backend });
		const result = await runTrainingLoop(tf, backend, request, {
			onProgress: progress => post({ type: "progress", progress }),
			onCheckpoint: (epoch, bytes) =>
				post({ type: "checkpoint", epoch, bytes }, [bytes.buffer as ArrayBuffer]),
			isCancelled: () => Atomics.load(flag, 0) === 1,
			exchange,
		});
		post({ type: "done", result });
	} catch (error) {
		if (error instanceof TrainingCancelledError) {
			post({ type: "cancelled" });
			return;
		}
		const e = error as Error & { data?: Record<string, unknown> };
		post({
			type: "error",
			error: { name: e.name ?? "Error", message: e.message ?? String(error), data: e.data },
		});
	}
}

void main();
