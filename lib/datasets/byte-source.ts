/**
 * An upload's bytes as they arrive: counted against the size limit and hashed on the way, so
 * the parser never needs the whole file and a too-large upload stops at the first chunk past
 * the limit.
 */
import { createHash, type Hash } from "node:crypto";
import { PayloadTooLargeError } from "../errors";

/** What parseDataset reads from: a Node Readable, any async iterable of chunks, or bytes in hand. */
export type ByteSource = AsyncIterable<Uint8Array | string> | Uint8Array | string;

export interface ByteTally {
	bytes: number;
	hash: Hash;
}

/**
 * The source's chunks as Uint8Arrays, tallied into `tally`; throws PayloadTooLargeError once
 * more than `maxBytes` have come (the source is then released by the for-await's return).
 */
export async function* limitedChunks(
	source: ByteSource,
	maxBytes: number,
	tally: ByteTally,
): AsyncGenerator<Uint8Array> {
	const chunks: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string> =
		typeof source === "string" || source instanceof Uint8Array ? [source] : source;
	for await (const chunk of chunks) {
		const bytes = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
		tally.bytes += bytes.byteLength;
		if (tally.bytes > maxBytes) throw new PayloadTooLargeError(maxBytes);
		tally.hash.update(bytes);
		yield bytes;
	}
}

export function newTally(): ByteTally {
	return { bytes: 0, hash: createHash("sha256") };
}
