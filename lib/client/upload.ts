/**
 * Request bodies for uploads: a file streamed from disk (never held whole in memory) or bytes
 * in memory, both as a ReadableStream that reports the bytes handed to fetch as it goes.
 */
import * as fs from "node:fs";

/** A file on disk (streamed) or bytes already in memory. */
export type UploadSource = { path: string } | { bytes: Uint8Array };

/** How far an upload is: bytes sent so far of `total`. */
export interface UploadProgress {
	sent: number;
	total: number;
}

export type ProgressCallback = (progress: UploadProgress) => void;

/** Memory sources are cut into chunks of this size, so progress moves for them too. */
const MEMORY_CHUNK_BYTES = 64 * 1024;

/** The size of `source` in bytes; a missing or unreadable file throws the fs error. */
export async function sourceSize(source: UploadSource): Promise<number> {
	if ("bytes" in source) return source.bytes.byteLength;
	const stat = await fs.promises.stat(source.path);
	if (!stat.isFile()) throw new Error(`${source.path} is not a file`);
	return stat.size;
}

/**
 * The bytes of `source` as a stream; `onProgress` hears each chunk as fetch pulls it, and once
 * more at the end (sent === total) so a bar always finishes.
 */
export function progressStream(
	source: UploadSource,
	total: number,
	onProgress?: ProgressCallback,
): ReadableStream<Uint8Array> {
	let sent = 0;
	const chunks = chunksOf(source);
	return new ReadableStream<Uint8Array>({
		async pull(controller) {
			const next = await chunks.next();
			if (next.done) {
				onProgress?.({ sent, total });
				controller.close();
				return;
			}
			sent += next.value.byteLength;
			controller.enqueue(next.value);
			onProgress?.({ sent, total });
		},
		async cancel() {
			await chunks.return(undefined);
		},
	});
}

async function* chunksOf(source: UploadSource): AsyncGenerator<Uint8Array, void, undefined> {
	if ("bytes" in source) {
		for (let at = 0; at < source.bytes.byteLength; at += MEMORY_CHUNK_BYTES)
			yield source.bytes.subarray(at, at + MEMORY_CHUNK_BYTES);
		return;
	}
	for await (const chunk of fs.createReadStream(source.path, { highWaterMark: 256 * 1024 }))
		yield new Uint8Array(chunk as Buffer);
}
