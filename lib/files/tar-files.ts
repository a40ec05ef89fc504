/**
 * The regular files of a tar archive (optionally gzipped), read by streaming the file once.
 * Directories, links and other entry types are passed over.
 *
 * Unpacking is bounded (ArchiveLimits): the entry count, the bytes of the files (checked at
 * each entry's header, before its bytes are read), and every byte the decompressor puts out
 * (headers, padding and tar's own long-name and pax records, which the parser buffers whole).
 * The first entry or byte over a limit stops decompression and answers ArchiveTooLargeError.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import * as zlib from "node:zlib";
import * as tar from "tar-stream";
import { ArchiveTooLargeError } from "../errors";

export interface ArchiveLimits {
	/** Most bytes the archive's files may add up to, unpacked (MODELFLEET_MAX_ARCHIVE_BYTES). */
	maxBytes: number;
	/** Most entries the archive may hold, of any type (MODELFLEET_MAX_ARCHIVE_ENTRIES). */
	maxEntries: number;
}

export const DEFAULT_ARCHIVE_LIMITS: Readonly<ArchiveLimits> = Object.freeze({
	maxBytes: 512 * 1024 ** 2,
	maxEntries: 1000,
});

export const ARCHIVE_SETTINGS = {
	bytes: "MODELFLEET_MAX_ARCHIVE_BYTES",
	entries: "MODELFLEET_MAX_ARCHIVE_ENTRIES",
} as const;

/** A tar's framing past its files' bytes: a header and padding per entry, the end blocks, a record's padding. */
const BLOCK = 512;
const FRAMING_SLACK = 64 * 1024;

/**
 * Every byte of the unpacked tar stream as it passes, with the most the limits allow of it:
 * the files' bytes, a header and padding per entry, and a little for the end of the archive.
 */
export function rawStreamLimit(limits: ArchiveLimits): number {
	return limits.maxBytes + limits.maxEntries * 3 * BLOCK + FRAMING_SLACK;
}

/** Counts bytes through; fails as soon as more than `limit` passed. */
class ByteLimit extends Transform {
	private seen = 0;

	constructor(
		private readonly limit: number,
		private readonly limits: ArchiveLimits,
	) {
		super();
	}

	override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
		this.seen += chunk.length;
		if (this.seen > this.limit) {
			done(new ArchiveTooLargeError("bytes", this.limits.maxBytes, ARCHIVE_SETTINGS.bytes));
			return;
		}
		done(null, chunk);
	}
}

/**
 * @returns each regular file's bytes by its normalized path ("model/model.json", no "../importers")
 * @throws ArchiveTooLargeError past a limit; the tar or gzip parser's error when the archive is
 *   corrupt or truncated
 */
export async function readTarFiles(
	filePath: string,
	options: { gzip: boolean; limits?: ArchiveLimits },
): Promise<Map<string, Buffer>> {
	const limits = options.limits ?? DEFAULT_ARCHIVE_LIMITS;
	const extract = tar.extract();
	const source = fs.createReadStream(filePath);
	const counter = new ByteLimit(rawStreamLimit(limits), limits);
	const feeding = options.gzip
		? pipeline(source, zlib.createGunzip(), counter, extract)
		: pipeline(source, counter, extract);
	// A failure here also destroys `extract`, which ends the loop below with the same error.
	feeding.catch(() => undefined);

	const files = new Map<string, Buffer>();
	let entries = 0;
	let fileBytes = 0;
	try {
		for await (const entry of extract) {
			entries++;
			if (entries > limits.maxEntries)
				throw new ArchiveTooLargeError(
					"entries",
					limits.maxEntries,
					ARCHIVE_SETTINGS.entries,
				);
			const type = entry.header.type ?? "file";
			if (type !== "file" && type !== "contiguous-file") {
				entry.resume();
				continue;
			}
			// The header says how many bytes follow: refused before any of them is read.
			fileBytes += entry.header.size ?? 0;
			if (fileBytes > limits.maxBytes)
				throw new ArchiveTooLargeError("bytes", limits.maxBytes, ARCHIVE_SETTINGS.bytes);
			const chunks: Buffer[] = [];
			for await (const chunk of entry) chunks.push(chunk as Buffer);
			files.set(normalizeEntryName(entry.header.name), Buffer.concat(chunks));
		}
		await feeding;
	} catch (error) {
		// Stops reading and decompressing at once; what was read is dropped with `files`.
		source.destroy();
		files.clear();
		throw error;
	}
	return files;
}

export function normalizeEntryName(name: string): string {
	return path.posix.normalize(name.replace(/\\/g, "/")).replace(/^(\.\/|\/)+/, "");
}
