/**
 * Where a store's blobs live: one interface, one file per implementation (local.ts, nats.ts,
 * s3.ts), and index.ts choosing by MODELFLEET_ARTIFACTS — laid out as Moleculer's cachers/.
 * A backend keeps bytes exactly as given (sealed or plain, encryption/sealed-format.ts) under
 * the sha256 of their plaintext, with the plaintext's size and the times GC needs. It never
 * checks content: the store hands it only bytes it has hashed (artifact-store.ts).
 */
import * as fs from "node:fs";
import { Readable } from "node:stream";

export type BlobBackendKind = "local" | "nats" | "s3";

/** A blob as a backend lists and stats it. */
export interface BlobObject {
	sha256: string;
	/** Bytes of the plaintext (what clients get). */
	size: number;
	/** Bytes as stored: a sealed blob's are more than its plaintext's. */
	storedBytes: number;
	/** When it was first stored, ms since epoch. */
	createdAtMs: number;
	/** When its content was last put (GC's grace period counts from here), ms since epoch. */
	lastStoredAtMs: number;
}

/** What a put records with the bytes. */
export interface BlobPutInfo {
	/** Bytes of the plaintext. */
	size: number;
	/** Bytes of the stream or file as given. */
	storedBytes: number;
	/** The store's clock: the blob's created and last-stored time. */
	nowMs: number;
}

/** Stored bytes [offset, offset + length); length default to the end. */
export interface StoredRange {
	offset?: number;
	length?: number;
}

export interface BlobBackend {
	readonly kind: BlobBackendKind;
	/** For logs and reports: where the blobs are (no credentials). */
	readonly description: string;
	/**
	 * Whether the bytes are elsewhere than this node's disk: the store then reads through a
	 * local cache, so ranged and repeated reads cost one fetch.
	 */
	readonly remote: boolean;
	/** Connects and creates the bucket or directory when missing. */
	open(): Promise<void>;
	close(): Promise<void>;
	/** Stores `source` (exactly `info.storedBytes` bytes) under `sha256`, replacing any. */
	put(sha256: string, source: Readable, info: BlobPutInfo): Promise<void>;
	/** Stores a complete local file, which the backend may move (the caller drops it after). */
	putFile(sha256: string, file: string, info: BlobPutInfo): Promise<void>;
	/** The stored bytes of a blob, or a range of them; NOT_FOUND when absent. */
	get(sha256: string, range?: StoredRange): Promise<Readable>;
	/** The blob, or null when absent. */
	stat(sha256: string): Promise<BlobObject | null>;
	/** Refreshes a blob's last-stored time; false when it is absent. */
	touch(sha256: string, nowMs: number): Promise<boolean>;
	/** Every blob, for garbage collection and migration. */
	list(): AsyncIterable<BlobObject>;
	/** Deletes a blob; nothing when it is absent. */
	delete(sha256: string): Promise<void>;
}

/** The object name of a blob in an object store: `sha256/ab/abcdef…`, as on disk. */
export function objectKey(sha256: string): string {
	return `sha256/${sha256.slice(0, 2)}/${sha256}`;
}

/** A stream of a file's bytes, for backends that take streams. */
export function fileStream(file: string): Readable {
	return fs.createReadStream(file, { highWaterMark: 256 * 1024 });
}

/** Metadata kept with an object in the object stores (string values, lower-case names). */
export const META = {
	size: "plain-size",
	created: "created-at-ms",
	stored: "stored-at-ms",
} as const;

export function metaOf(info: BlobPutInfo, createdAtMs = info.nowMs): Record<string, string> {
	return {
		[META.size]: String(info.size),
		[META.created]: String(createdAtMs),
		[META.stored]: String(info.nowMs),
	};
}

/** A number kept in metadata, or the fallback when absent or unreadable. */
export function metaNumber(
	meta: Record<string, string | undefined> | undefined,
	name: string,
	fallback: number,
): number {
	const value = Number(meta?.[name]);
	return meta?.[name] !== undefined && Number.isFinite(value) ? value : fallback;
}

/** Drops the first `skip` bytes of a stream and ends it after `length` more (Infinity: the rest). */
export function sliceStream(source: Readable, skip: number, length: number): Readable {
	async function* slice(): AsyncGenerator<Buffer> {
		let toSkip = skip;
		let left = length;
		try {
			for await (const chunk of source as AsyncIterable<Buffer>) {
				let part = chunk;
				if (toSkip > 0) {
					const dropped = Math.min(toSkip, part.length);
					part = part.subarray(dropped);
					toSkip -= dropped;
				}
				if (part.length === 0) continue;
				if (part.length > left) part = part.subarray(0, left);
				left -= part.length;
				yield part;
				if (left <= 0) break;
			}
		} finally {
			source.destroy();
		}
	}
	return Readable.from(slice(), { objectMode: false });
}
