/**
 * Messages larger than the NATS server's `max_payload` (1 MiB by default) split into chunks and
 * put together again, so a 48 MB tensor crosses the fleet as it crosses one process. A chunk is
 * a small header then its slice of the message:
 *
 *   0xFF 'M' 'F' 'C' 0x01 | message id (12 bytes) | index (u32) | count (u32) | total bytes (u32) | slice
 *
 * 0xFF opens no CBOR item (it is CBOR's "break"), so a chunk can never be taken for a whole
 * packet. NATS keeps the order of one connection's messages on one subject, and a sender writes
 * a message's chunks one after another; the index is checked all the same.
 */

const MAGIC = Buffer.from([0xff, 0x4d, 0x46, 0x43, 0x01]);
const ID_BYTES = 12;
export const CHUNK_HEADER_BYTES = MAGIC.length + ID_BYTES + 12;

/** Whether `data` is a chunk of a split message (else a whole message). */
export function isChunk(data: Uint8Array): boolean {
	return (
		data.length >= CHUNK_HEADER_BYTES &&
		data[0] === 0xff &&
		data[1] === 0x4d &&
		data[2] === 0x46 &&
		data[3] === 0x43 &&
		data[4] === 0x01
	);
}

/**
 * `data` as chunks of at most `maxChunkBytes` bytes each (header included), under `id` (12
 * bytes, unique per message of this sender).
 */
export function splitMessage(data: Buffer, maxChunkBytes: number, id: Buffer): Buffer[] {
	if (id.length !== ID_BYTES) throw new RangeError(`A message id has ${ID_BYTES} bytes.`);
	const sliceBytes = maxChunkBytes - CHUNK_HEADER_BYTES;
	if (sliceBytes <= 0)
		throw new RangeError(`A chunk must hold more than its ${CHUNK_HEADER_BYTES}-byte header.`);
	const count = Math.ceil(data.length / sliceBytes);
	const chunks: Buffer[] = [];
	for (let index = 0; index < count; index++) {
		const slice = data.subarray(index * sliceBytes, (index + 1) * sliceBytes);
		const chunk = Buffer.allocUnsafe(CHUNK_HEADER_BYTES + slice.length);
		MAGIC.copy(chunk, 0);
		id.copy(chunk, MAGIC.length);
		chunk.writeUInt32BE(index, MAGIC.length + ID_BYTES);
		chunk.writeUInt32BE(count, MAGIC.length + ID_BYTES + 4);
		chunk.writeUInt32BE(data.length, MAGIC.length + ID_BYTES + 8);
		slice.copy(chunk, CHUNK_HEADER_BYTES);
		chunks.push(chunk);
	}
	return chunks;
}

export interface ChunkAssemblerOptions {
	/** The largest message put together; chunks of a larger one are dropped. */
	maxMessageBytes: number;
	/** Most bytes held by messages not yet complete, all together; past it the oldest is dropped. */
	maxPendingBytes: number;
	/** A message not complete this long after its first chunk is dropped. */
	staleAfterMs: number;
}

interface PartialMessage {
	body: Buffer;
	/** The index of the chunk expected next. */
	next: number;
	count: number;
	/** The slice size of every chunk but the last (that of the first chunk). */
	sliceBytes: number;
	firstAt: number;
}

/** Why a chunk was not used, for the log. */
export type DroppedChunk = { reason: string };

/** Puts messages together from their chunks; bounded in bytes and time. */
export class ChunkAssembler {
	private readonly partial = new Map<string, PartialMessage>();
	private pendingBytes = 0;

	constructor(
		private readonly options: ChunkAssemblerOptions,
		private readonly now: () => number = Date.now,
	) {}

	/** Bytes held by messages not yet complete. */
	get heldBytes(): number {
		return this.pendingBytes;
	}

	/**
	 * Takes one chunk: the whole message once its last chunk is in, null while it is not, or a
	 * dropped chunk with the reason (the message it belonged to is forgotten).
	 */
	accept(chunk: Buffer): Buffer | null | DroppedChunk {
		this.dropStale();
		const id = chunk.toString("hex", MAGIC.length, MAGIC.length + ID_BYTES);
		const index = chunk.readUInt32BE(MAGIC.length + ID_BYTES);
		const count = chunk.readUInt32BE(MAGIC.length + ID_BYTES + 4);
		const total = chunk.readUInt32BE(MAGIC.length + ID_BYTES + 8);
		const slice = chunk.subarray(CHUNK_HEADER_BYTES);

		let message = this.partial.get(id);
		if (message === undefined) {
			if (index !== 0)
				return { reason: `chunk ${index} of ${count} arrived without its first` };
			if (total > this.options.maxMessageBytes)
				return {
					reason: `a ${total}-byte message is over the ${this.options.maxMessageBytes}-byte limit`,
				};
			while (
				this.pendingBytes + total > this.options.maxPendingBytes &&
				this.partial.size > 0
			)
				this.forget(this.partial.keys().next().value as string);
			if (this.pendingBytes + total > this.options.maxPendingBytes)
				return {
					reason: `${total} bytes would pass the ${this.options.maxPendingBytes}-byte reassembly limit`,
				};
			message = {
				body: Buffer.allocUnsafe(total),
				next: 0,
				count,
				sliceBytes: slice.length,
				firstAt: this.now(),
			};
			this.partial.set(id, message);
			this.pendingBytes += total;
		}
		const offset = index * message.sliceBytes;
		const last = index === message.count - 1;
		const fits = last ? offset + slice.length === total : slice.length === message.sliceBytes;
		if (
			index !== message.next ||
			count !== message.count ||
			total !== message.body.length ||
			!fits
		) {
			this.forget(id);
			return {
				reason: `chunk ${index} of ${count} does not follow chunk ${message.next - 1}`,
			};
		}
		slice.copy(message.body, offset);
		message.next++;
		if (message.next < message.count) return null;
		this.forget(id);
		return message.body;
	}

	private forget(id: string): void {
		const message = this.partial.get(id);
		if (!message) return;
		this.partial.delete(id);
		this.pendingBytes -= message.body.length;
	}

	private dropStale(): void {
		const now = this.now();
		for (const [id, message] of this.partial) {
			if (now - message.firstAt < this.options.staleAfterMs) break; // insertion order: oldest first
			this.forget(id);
		}
	}
}
