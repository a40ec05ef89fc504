/**
 * Batch prediction as a stream: chunks of input rows (batch-chunk.ts), each one prediction
 * call, a few at once, the answer lines coming out in input order. Input is read only as fast
 * as answers are taken (at most `concurrency` chunks ahead of the last line handed out), so
 * memory stays bounded whatever the size of the file.
 *
 * A chunk refused for a bad row (a 4xx) is retried row by row, so only the bad rows get error
 * lines; a chunk that fails for a passing reason (429, 503, 504) is retried with a backoff.
 */
import { toErrorResponse } from "../error-response";
import type { Tensor } from "../../inference/tensor";
import { payloadRow, type BatchChunk, type ChunkPayload } from "./batch-chunk";
import { errorLine, outputLines } from "./row-outputs";

export interface BatchPredictOptions {
	/** Calls in flight at once; no input is read past them. Default 4. */
	concurrency: number;
	/** Tries of a call that fails with 429, 503 or 504. Default 3. */
	attempts: number;
	/** Wait before the first retry, doubled each time (a `retryAfterMs` in the error wins), ms. Default 100. */
	retryDelayMs: number;
	sleep: (ms: number) => Promise<void>;
}

export const DEFAULT_BATCH_PREDICT_OPTIONS: Readonly<BatchPredictOptions> = Object.freeze({
	concurrency: 4,
	attempts: 3,
	retryDelayMs: 100,
	sleep: (ms: number) => new Promise<void>(resolve => setTimeout(resolve, ms)),
});

/** One prediction call for the rows of a payload. */
export type ChunkInfer = (payload: ChunkPayload) => Promise<{ outputs: readonly Tensor[] }>;

const RETRYABLE = new Set([429, 503, 504]);

function isClientError(status: number): boolean {
	return status >= 400 && status < 500 && status !== 429;
}

/** The message of an error as a client may see it; for a single-row call, naming the row. */
function messageOf(error: unknown, row: number | null): string {
	const message = toErrorResponse(error).body.message;
	if (row === null) return message;
	const named = message.replace(/instances\[0\]/g, `row ${row}`);
	return named === message ? `row ${row}: ${message}` : named;
}

async function withRetries<T>(options: BatchPredictOptions, call: () => Promise<T>): Promise<T> {
	for (let attempt = 1; ; attempt++) {
		try {
			return await call();
		} catch (error) {
			if (attempt >= options.attempts || !RETRYABLE.has(toErrorResponse(error).status))
				throw error;
			const hinted = (error as { data?: { retryAfterMs?: unknown } }).data?.retryAfterMs;
			await options.sleep(
				typeof hinted === "number" && hinted >= 0
					? hinted
					: options.retryDelayMs * 2 ** (attempt - 1),
			);
		}
	}
}

/** The answer lines of one chunk, in its order; never rejects. */
async function runChunk(
	chunk: BatchChunk,
	infer: ChunkInfer,
	options: BatchPredictOptions,
): Promise<string> {
	const lines = new Map<number, string>();
	for (const [row, error] of chunk.errors) lines.set(row, errorLine(row, error));
	const run = async (payload: ChunkPayload, rows: readonly number[]): Promise<void> => {
		const result = await withRetries(options, () => infer(payload));
		const answered = outputLines(rows, result.outputs);
		rows.forEach((row, i) => lines.set(row, answered[i]));
	};
	const { payload, rows } = chunk;
	if (payload !== null) {
		try {
			await run(payload, rows);
		} catch (error) {
			if (rows.length > 1 && isClientError(toErrorResponse(error).status)) {
				// Find the bad rows: each alone; the others get their outputs.
				for (const [i, row] of rows.entries()) {
					await run(payloadRow(payload, i), [row]).catch((rowError: unknown) =>
						lines.set(row, errorLine(row, messageOf(rowError, row))),
					);
				}
			} else {
				const message = messageOf(error, rows.length === 1 ? rows[0] : null);
				for (const row of rows) lines.set(row, errorLine(row, message));
			}
		}
	}
	return chunk.order.map(row => lines.get(row)).join("\n") + "\n";
}

/**
 * The NDJSON answer of a batch prediction, one string per chunk of lines. When the input
 * cannot be read on (a malformed CSV, a body cut off), the lines so far come out, then
 * `{"error": …}` as the last line.
 */
export async function* batchPredictLines(
	chunks: AsyncIterable<BatchChunk>,
	infer: ChunkInfer,
	overrides: Partial<BatchPredictOptions> = {},
): AsyncGenerator<string> {
	const options: BatchPredictOptions = { ...DEFAULT_BATCH_PREDICT_OPTIONS, ...overrides };
	const inflight: Promise<string>[] = [];
	let failure: unknown = null;
	try {
		for await (const chunk of chunks) {
			inflight.push(runChunk(chunk, infer, options).finally(() => chunk.release?.()));
			while (inflight.length >= options.concurrency) yield await inflight.shift()!;
		}
	} catch (error) {
		failure = error;
	}
	while (inflight.length > 0) yield await inflight.shift()!;
	if (failure !== null) yield JSON.stringify({ error: messageOf(failure, null) }) + "\n";
}
