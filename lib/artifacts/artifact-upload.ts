/**
 * The sending side of `artifacts.put` for big blobs: the source goes up in parts (1 MiB by
 * default), one part in flight, each acknowledged once it is on the receiver's disk. A single
 * Moleculer stream over NATS has no back-pressure — the sender publishes as fast as it reads
 * and the receiver buffers what its disk has not taken yet — so parts are what keep memory
 * bounded on both sides, whatever the blob's size.
 */
import { randomUUID } from "node:crypto";
import { Readable } from "node:stream";
import { InvalidInputError, StateConflictError } from "../errors";
import { requireSha256 } from "./artifact-hash";
import {
	ARTIFACT_ACTIONS,
	DEFAULT_PART_BYTES,
	type ArtifactCall,
	type ArtifactCallOptions,
	type PartReceived,
	type PutParams,
	type StoredArtifact,
} from "./artifact-protocol";

/** The largest chunk handed to the transporter: Moleculer's transit.maxChunkSize default. */
export const MAX_CHUNK_BYTES = 256 * 1024;

export interface UploadOptions {
	/** The content's sha256 when known: the receiver verifies it and keeps nothing on a mismatch. */
	expectedSha256?: string;
	/** Bytes per part. Default DEFAULT_PART_BYTES (1 MiB). */
	partBytes?: number;
	/** Timeout of each call, ms. Default the broker's request timeout. */
	timeout?: number;
}

/**
 * Stores a stream's bytes in the `artifacts` service and answers what `put` answers:
 * `{ sha256, size, created }`. On failure the source is destroyed and the receiver keeps
 * nothing: a failed part ends the upload there, and an upload left between parts is deleted
 * when this node leaves the fleet or after the receiver's idle timeout.
 */
export async function uploadArtifact(
	call: ArtifactCall,
	source: Readable,
	options: UploadOptions = {},
): Promise<StoredArtifact> {
	const partBytes = options.partBytes ?? DEFAULT_PART_BYTES;
	if (!Number.isSafeInteger(partBytes) || partBytes <= 0) {
		throw new InvalidInputError(`partBytes must be a positive whole number; got ${partBytes}.`);
	}
	const expectedSha256 =
		options.expectedSha256 === undefined
			? undefined
			: requireSha256(options.expectedSha256, "expectedSha256");
	const uploadId = randomUUID();
	const parts = new PartReader(source);
	const callOptions: ArtifactCallOptions =
		options.timeout === undefined ? {} : { timeout: options.timeout };
	let offset = 0;
	let part: Readable | null = null;

	const params = (final: boolean): PutParams => ({
		uploadId,
		offset,
		final,
		...(offset === 0 && expectedSha256 !== undefined ? { expectedSha256 } : {}),
	});

	try {
		while (await parts.hasMore()) {
			const sent = parts.next(partBytes);
			part = sent.stream;
			const reply = (await call(ARTIFACT_ACTIONS.put, params(false), {
				...callOptions,
				stream: part,
			})) as PartReceived;
			if (reply.received !== offset + sent.bytes()) {
				throw new StateConflictError(
					`The artifacts service acknowledged ${reply.received} bytes of upload ${uploadId}; ${offset + sent.bytes()} were sent.`,
					{ uploadId, received: reply.received, sent: offset + sent.bytes() },
				);
			}
			offset = reply.received;
			// Every part goes to the node holding the upload's temp file.
			callOptions.nodeID = reply.nodeID;
			part = null;
		}
		return (await call(ARTIFACT_ACTIONS.put, params(true), callOptions)) as StoredArtifact;
	} catch (err) {
		// An error on the part stream tells the receiver to drop the stream it holds.
		// Nobody may listen any more (the receiver's node is gone and the call was rejected):
		// the stream's error must not go unhandled, or it takes this whole process down.
		part?.on("error", () => undefined);
		part?.destroy(parts.error ?? new Error("upload abandoned"));
		source.destroy();
		throw parts.error ?? err;
	}
}

/** Cuts a source into consecutive part streams, reading ahead at most one chunk. */
class PartReader {
	private readonly chunks: AsyncIterator<unknown>;
	private pending: Buffer | null = null;
	private ended = false;
	/** The source's own error, when it failed: what the caller should see. */
	error: Error | null = null;

	constructor(source: Readable) {
		this.chunks = source[Symbol.asyncIterator]();
	}

	/** Whether the source has bytes left. */
	async hasMore(): Promise<boolean> {
		while (this.pending === null || this.pending.length === 0) {
			if (this.ended) return false;
			try {
				const next = await this.chunks.next();
				if (next.done) {
					this.ended = true;
					return false;
				}
				this.pending = toBuffer(next.value);
			} catch (err) {
				this.error = err as Error;
				throw err;
			}
		}
		return true;
	}

	/** A stream of the source's next `limit` bytes (fewer at its end), in transporter-sized chunks. */
	next(limit: number): { stream: Readable; bytes: () => number } {
		let sent = 0;
		const stream = new Readable({
			highWaterMark: MAX_CHUNK_BYTES,
			read: () => {
				if (sent === limit) {
					stream.push(null);
					return;
				}
				this.hasMore().then(
					more => {
						if (!more || this.pending === null) {
							stream.push(null);
							return;
						}
						const take = Math.min(limit - sent, this.pending.length, MAX_CHUNK_BYTES);
						const chunk = this.pending.subarray(0, take);
						this.pending = this.pending.subarray(take);
						sent += take;
						stream.push(chunk);
					},
					(err: Error) => stream.destroy(err),
				);
			},
		});
		return { stream, bytes: () => sent };
	}
}

function toBuffer(chunk: unknown): Buffer {
	if (Buffer.isBuffer(chunk)) return chunk;
	if (typeof chunk === "string") return Buffer.from(chunk);
	if (ArrayBuffer.isView(chunk))
		return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
	throw new InvalidInputError(
		"An artifact source must yield bytes (Buffer, Uint8Array or string).",
	);
}
