/**
 * Reads a request body into one Buffer under a size limit, copying each chunk at most once.
 * With `alignAt` (and a Content-Length) the buffer is allocated up front, placed so that byte
 * `alignAt` of the body (where the binary tensors of an Open Inference Protocol request start)
 * sits on an 8-byte boundary: tensors there can then be typed-array views of the body instead
 * of copies. Without it (a body read as text), a body that arrives in one chunk is that chunk,
 * not copied: the common case of a small JSON request.
 */
import type { Readable } from "node:stream";
import { InvalidInputError, RequestTooLargeError } from "../errors";

export interface BodyReadOptions {
	/** Most bytes the body may hold; more answers 413 without reading the rest. */
	limitBytes: number;
	/** The setting that holds the limit, named in the 413. */
	limitSetting: string;
	/** The Content-Length header, when the client sent one. */
	contentLength?: string | undefined;
	/** A body offset that should be 8-byte aligned in memory; left out, the body may sit anywhere. */
	alignAt?: number;
}

function tooLarge(actual: number, options: BodyReadOptions): RequestTooLargeError {
	return new RequestTooLargeError(
		"The request body",
		actual,
		options.limitBytes,
		options.limitSetting,
		"bytes",
	);
}

/**
 * A Buffer of `size` bytes (not zeroed: every byte is written before it is read) with a memory
 * of its own, whose byte `alignAt` sits on an 8-byte boundary.
 */
function alignedBuffer(size: number, alignAt: number): Buffer {
	const pad = (8 - (alignAt % 8)) % 8;
	return Buffer.allocUnsafeSlow(size + pad).subarray(pad, pad + size);
}

/** Content-Length as a number, or null when absent or not a plain decimal. */
function declaredLength(contentLength: string | undefined): number | null {
	return contentLength !== undefined && /^\d{1,15}$/.test(contentLength.trim())
		? Number(contentLength.trim())
		: null;
}

/** The chunks as one buffer: the only chunk itself when no alignment is asked. */
function joinChunks(
	chunks: readonly Buffer[],
	received: number,
	alignAt: number | undefined,
): Buffer {
	if (alignAt === undefined && chunks.length === 1) return chunks[0];
	const body = alignedBuffer(received, alignAt ?? 0);
	let at = 0;
	for (const chunk of chunks) {
		chunk.copy(body, at);
		at += chunk.length;
	}
	return body;
}

/** The whole body; 413 over the limit, 400 when the client stops sending part way. */
export function readRequestBody(stream: Readable, options: BodyReadOptions): Promise<Buffer> {
	const declared = declaredLength(options.contentLength);
	if (declared !== null && declared > options.limitBytes)
		return Promise.reject(tooLarge(declared, options));
	const alignAt = options.alignAt;
	if (stream.readableEnded) return Promise.resolve(alignedBuffer(0, alignAt ?? 0));

	return new Promise<Buffer>((resolve, reject) => {
		const target =
			declared !== null && alignAt !== undefined ? alignedBuffer(declared, alignAt) : null;
		const chunks: Buffer[] = [];
		let received = 0;
		const finish = (outcome: () => void): void => {
			stream.off("data", onData);
			stream.off("end", onEnd);
			stream.off("error", onError);
			stream.off("aborted", onAborted);
			outcome();
		};
		const onData = (chunk: Buffer): void => {
			const end = received + chunk.length;
			if (end > options.limitBytes || (declared !== null && end > declared)) {
				// Keep the stream flowing into nothing, so the connection can still carry the answer.
				finish(() => {
					stream.resume();
					reject(
						end > options.limitBytes
							? tooLarge(end, options)
							: new InvalidInputError(
									`The request body is longer than its Content-Length of ${declared} bytes.`,
									{ where: "body" },
								),
					);
				});
				return;
			}
			if (target !== null) chunk.copy(target, received);
			else chunks.push(chunk);
			received = end;
		};
		const onEnd = (): void =>
			finish(() => {
				if (declared !== null && received !== declared) {
					reject(
						new InvalidInputError(
							`The request body ended after ${received} of its ${declared} bytes (Content-Length).`,
							{ where: "body" },
						),
					);
					return;
				}
				if (target !== null) {
					resolve(target);
					return;
				}
				resolve(joinChunks(chunks, received, alignAt));
			});
		const onError = (): void =>
			finish(() =>
				reject(
					new InvalidInputError("The request body could not be read to its end.", {
						where: "body",
					}),
				),
			);
		const onAborted = onError;
		stream.on("data", onData);
		stream.once("end", onEnd);
		stream.once("error", onError);
		stream.once("aborted", onAborted);
	});
}
