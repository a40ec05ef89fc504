/** Test data for artifacts: deterministic bytes of any size as a stream, and hashing helpers. */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { Readable } from "node:stream";

const CHUNK_BYTES = 256 * 1024;

/**
 * `size` pseudo-random bytes (xorshift32 from `seed`) as a stream, generated as they are read:
 * a 300 MB artifact never exists in memory. Same size and seed, same bytes.
 */
export function deterministicStream(size: number, seed = 1, chunkBytes = CHUNK_BYTES): Readable {
	let state = seed >>> 0 || 1;
	let produced = 0;
	const words = Math.ceil(chunkBytes / 4);
	return new Readable({
		highWaterMark: chunkBytes,
		read() {
			if (produced >= size) {
				this.push(null);
				return;
			}
			const n = Math.min(chunkBytes, size - produced);
			// A buffer of its own (not from the shared pool), so the word view is aligned.
			const buffer = Buffer.allocUnsafeSlow(words * 4);
			const view = new Uint32Array(buffer.buffer, buffer.byteOffset, Math.ceil(n / 4));
			for (let i = 0; i < view.length; i++) {
				state ^= state << 13;
				state ^= state >>> 17;
				state ^= state << 5;
				view[i] = state >>> 0;
			}
			produced += n;
			this.push(buffer.subarray(0, n));
		},
	});
}

/** The same bytes as deterministicStream, in memory (small sizes only). */
export async function deterministicBytes(size: number, seed = 1): Promise<Buffer> {
	return collect(deterministicStream(size, seed));
}

export async function collect(stream: Readable): Promise<Buffer> {
	const chunks: Buffer[] = [];
	for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
	return Buffer.concat(chunks);
}

export function sha256Of(data: Uint8Array | string): string {
	return createHash("sha256").update(data).digest("hex");
}

export async function sha256OfStream(stream: Readable): Promise<{ sha256: string; size: number }> {
	const hash = createHash("sha256");
	let size = 0;
	for await (const chunk of stream) {
		hash.update(chunk as Uint8Array);
		size += (chunk as Uint8Array).length;
	}
	return { sha256: hash.digest("hex"), size };
}

export function sha256OfFile(file: string): Promise<{ sha256: string; size: number }> {
	return sha256OfStream(fs.createReadStream(file, { highWaterMark: 1024 * 1024 }));
}

/** Every file under `dir`, relative to it, sorted. */
export function listFiles(dir: string): string[] {
	if (!fs.existsSync(dir)) return [];
	return (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[])
		.filter(entry => entry.isFile())
		.map(entry => `${entry.parentPath}/${entry.name}`.slice(dir.length + 1))
		.sort();
}
