/**
 * Blob files as the store and the workers' cache keep them: plain bytes, or sealed
 * (encryption/sealed-format.ts) when the node has a master key. Readers take either — blobs
 * stored before a key was set stay readable — and always see the plaintext; sizes are the
 * plaintext's. Writers seal every new blob when a key is given.
 */
import * as fs from "node:fs";
import { Readable } from "node:stream";
import { BlobSealer } from "./encryption/blob-sealer";
import type { MasterKey } from "./encryption/master-key";
import { HEADER_BYTES, decodeHeader, isSealed, sealedGeometry } from "./encryption/sealed-format";
import { openSealed, readSealedRange } from "./encryption/sealed-reader";
import { ArtifactUnreadableError } from "../errors";

/** What a blob file is, from its header and size alone (no key needed). */
export interface BlobFileInfo {
	/** Plaintext bytes. */
	size: number;
	/** The id of the master key that sealed it; null for a plain file. */
	keyId: string | null;
	stats: fs.Stats;
}

/** An open blob file: its plaintext size and streams of its plaintext. */
export interface OpenedBlobFile {
	size: number;
	/** Bytes [start, end) of the plaintext; the file closes when the stream ends. */
	read(start: number, end: number): Readable;
	close(): Promise<void>;
}

async function readHead(file: fs.promises.FileHandle): Promise<Buffer> {
	const head = Buffer.alloc(HEADER_BYTES);
	const { bytesRead } = await file.read(head, 0, HEADER_BYTES, 0);
	return head.subarray(0, bytesRead);
}

/** Size and key id of a blob file (ENOENT when absent). */
export async function statBlobFile(filePath: string): Promise<BlobFileInfo> {
	const file = await fs.promises.open(filePath, "r");
	try {
		const stats = await file.stat();
		const head = await readHead(file);
		if (!isSealed(head)) return { size: stats.size, keyId: null, stats };
		const header = decodeHeader(head);
		if (typeof header === "string") throw new ArtifactUnreadableError(filePath, header + ".");
		const geometry = sealedGeometry(stats.size, header.segmentBytes);
		if (typeof geometry === "string") {
			throw new ArtifactUnreadableError(filePath, geometry + ".");
		}
		return { size: geometry.plaintextSize, keyId: header.keyId, stats };
	} finally {
		await file.close();
	}
}

/**
 * Opens a blob file for reading (ENOENT when absent). A sealed one opens only with the key
 * that sealed it and only under the name (`sha256`) it was sealed for.
 */
export async function openBlobFile(
	filePath: string,
	key: MasterKey | null,
	sha256: string,
): Promise<OpenedBlobFile> {
	const file = await fs.promises.open(filePath, "r");
	try {
		const head = await readHead(file);
		if (!isSealed(head)) {
			const { size } = await file.stat();
			return {
				size,
				read: (start, end) =>
					file.createReadStream({
						start,
						end: end - 1,
						highWaterMark: 256 * 1024,
					}),
				close: () => file.close(),
			};
		}
		const sealed = await openSealed(file, key, sha256, sha256);
		return {
			size: sealed.plaintextSize,
			read: (start, end) => readSealedRange(file, sealed, start, end, sha256),
			close: () => file.close(),
		};
	} catch (err) {
		await file.close();
		throw err;
	}
}

/** A stream of a whole blob file's plaintext. */
export async function readBlobFile(
	filePath: string,
	key: MasterKey | null,
	sha256: string,
): Promise<Readable> {
	const blob = await openBlobFile(filePath, key, sha256);
	if (blob.size === 0) {
		await blob.close();
		return Readable.from([]);
	}
	return blob.read(0, blob.size);
}

/** A new blob writer's sealer when the node has a key, else null (plain bytes). */
export function sealerFor(key: MasterKey | null): BlobSealer | null {
	return key === null ? null : new BlobSealer(key);
}

/** Creates the temp file a blob is written into: empty, or the sealed header's placeholder. */
export async function createBlobTemp(filePath: string, sealer: BlobSealer | null): Promise<void> {
	await fs.promises.writeFile(filePath, sealer ? BlobSealer.placeholder : "", { flag: "wx" });
}

/** Completes a written temp file: the last segment and the real header, when sealed. */
export async function finishBlobTemp(
	filePath: string,
	sealer: BlobSealer | null,
	sha256: string,
): Promise<void> {
	if (sealer === null) return;
	const file = await fs.promises.open(filePath, "r+");
	try {
		const { size } = await file.stat();
		const last = sealer.final();
		await file.write(last, 0, last.length, size);
		const header = sealer.header(sha256);
		await file.write(header, 0, header.length, 0);
	} finally {
		await file.close();
	}
}
