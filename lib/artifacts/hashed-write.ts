/**
 * Streams bytes to a file while hashing and counting them, so an artifact is never held in
 * memory: at most a few stream buffers (highWaterMark) are in flight at any time.
 */
import type { Hash } from "node:crypto";
import * as fs from "node:fs";
import { Transform, type Readable, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { BlobSealer } from "./encryption/blob-sealer";

export interface HashedWriteOptions {
	/** Updated with every byte written; the caller digests it when all parts are in. */
	hash: Hash;
	/** "wx" for a new file, "a" to append a further part. */
	flags: "wx" | "a";
	/** Bytes already in the file (earlier parts); the limit counts them. */
	startSize: number;
	/** The most bytes the file may hold; the first chunk that would pass it fails the write. */
	limitBytes: number;
	/** The error for a write that would pass the limit. */
	tooLarge: () => Error;
	/** No chunk for this long fails the write (a lost sender or lost packets); 0 waits forever. */
	stallTimeoutMs: number;
	/** The error for a stalled write. */
	stalled: () => Error;
	/** Encrypts the bytes on their way to the file (hash and counts stay the plaintext's). Default none. */
	seal?: BlobSealer | null;
}

/** Bytes that pass through; fails when the total would pass the limit or nothing arrives in time. */
class Meter extends Transform {
	written = 0;
	private timer: NodeJS.Timeout | null = null;

	constructor(private readonly options: HashedWriteOptions) {
		super();
		this.arm();
	}

	override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
		const { hash, startSize, limitBytes, tooLarge } = this.options;
		if (startSize + this.written + chunk.length > limitBytes) {
			done(tooLarge());
			return;
		}
		this.written += chunk.length;
		hash.update(chunk);
		this.arm();
		const out = this.options.seal ? this.options.seal.update(chunk) : chunk;
		if (out.length > 0) done(null, out);
		else done();
	}

	override _flush(done: TransformCallback): void {
		this.disarm();
		done();
	}

	override _destroy(error: Error | null, done: (error: Error | null) => void): void {
		this.disarm();
		done(error);
	}

	private arm(): void {
		this.disarm();
		const { stallTimeoutMs, stalled } = this.options;
		if (stallTimeoutMs > 0) {
			this.timer = setTimeout(() => this.destroy(stalled()), stallTimeoutMs);
			this.timer.unref();
		}
	}

	private disarm(): void {
		if (this.timer) clearTimeout(this.timer);
		this.timer = null;
	}
}

/**
 * Pipes `source` into `file` (flags "wx" or "a"), hashing as it goes. Resolves with the bytes
 * written once they are in the file; on any failure the source is destroyed and the promise
 * rejects (the caller deletes the file).
 */
export async function writeHashed(
	source: Readable,
	file: string,
	options: HashedWriteOptions,
): Promise<number> {
	const meter = new Meter(options);
	await pipeline(source, meter, fs.createWriteStream(file, { flags: options.flags }));
	return meter.written;
}
