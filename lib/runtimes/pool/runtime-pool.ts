import * as os from "node:os";
import { Piscina } from "piscina";
import { concatRows, splitRows } from "../../batching/tensor-rows";
import type { Tensor } from "../../inference/tensor";
import type { RuntimeTask, RuntimeTaskResult } from "./runtime-task";
import { workerFile } from "../../process/worker-file";

export interface RuntimePoolOptions {
	/** Worker threads. Default: the node's cores minus one (the event loop keeps one), at least 1. */
	threads?: number;
	/** A batch is split across threads only when it has at least this many rows per chunk. Default 1024. */
	minRowsPerChunk?: number;
	/**
	 * Chunks per thread a large batch is split into, at most. Default 1: equal chunks, one per
	 * thread, the fewest hand-offs. More chunks let a thread that runs ahead take more of the
	 * batch when the threads do not get equal shares of the cores.
	 */
	chunksPerThread?: number;
	/** Idle threads exit after this long, ms. Default 60000. */
	idleTimeoutMs?: number;
}

export const DEFAULT_POOL_THREADS = Math.max(1, os.availableParallelism() - 1);

/**
 * Runs models in piscina worker threads, off the event loop: the XGBoost walker, TF.js, and
 * large ONNX batches split into chunks across threads (each thread with its own session).
 */
export class RuntimePool {
	readonly threads: number;
	private readonly minRowsPerChunk: number;
	private readonly chunksPerThread: number;
	private readonly piscina: Piscina;

	constructor(options: RuntimePoolOptions = {}) {
		this.threads = options.threads ?? DEFAULT_POOL_THREADS;
		this.minRowsPerChunk = options.minRowsPerChunk ?? 1024;
		this.chunksPerThread = options.chunksPerThread ?? 1;
		const { filename, execArgv } = workerFile(__dirname, "runtime-worker", __filename);
		this.piscina = new Piscina({
			filename,
			execArgv,
			minThreads: 0,
			maxThreads: this.threads,
			idleTimeout: options.idleTimeoutMs ?? 60_000,
		});
	}

	/** Runs one batch on one thread. */
	async run(task: RuntimeTask): Promise<RuntimeTaskResult> {
		return (await this.piscina.run(task)) as RuntimeTaskResult;
	}

	/**
	 * Runs a batch split along the batch axis into up to `threads` chunks at once, then joins
	 * the outputs in order. Small batches run whole on one thread.
	 */
	async runChunked(task: RuntimeTask): Promise<RuntimeTaskResult> {
		const rows = task.inputs[0]?.shape[0] ?? 0;
		const chunks = Math.min(
			this.threads * this.chunksPerThread,
			Math.floor(rows / this.minRowsPerChunk),
		);
		if (chunks <= 1) return this.run(task);
		const size = Math.ceil(rows / chunks);
		const rowCounts = Array.from({ length: Math.ceil(rows / size) }, (_, i) =>
			Math.min(size, rows - i * size),
		);
		// Each chunk is a copy with buffers of its own (the caller keeps its arrays), so the
		// buffers are moved to the worker thread, not cloned a second time on the way.
		const results = await Promise.all(
			splitRows(task.inputs, rowCounts).map(
				async inputs =>
					(await this.piscina.run(
						{ ...task, inputs },
						{ transferList: bufferList(inputs) },
					)) as RuntimeTaskResult,
			),
		);
		const outputs = concatRows(results.map(r => r.outputs));
		return {
			outputs,
			executionProvider: results[0].executionProvider,
			computeMs: Math.max(...results.map(r => r.computeMs)),
			chunks: results.flatMap(r => r.chunks),
		};
	}

	async close(): Promise<void> {
		await this.piscina.destroy();
	}
}

/** The ArrayBuffers of the tensors' typed data, each once (BYTES data has none). */
function bufferList(tensors: readonly Tensor[]): ArrayBuffer[] {
	const buffers = new Set<ArrayBuffer>();
	for (const tensor of tensors) {
		if (!Array.isArray(tensor.data)) buffers.add(tensor.data.buffer as ArrayBuffer);
	}
	return [...buffers];
}
