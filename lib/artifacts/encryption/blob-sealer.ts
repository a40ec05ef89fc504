/**
 * Encrypts one blob as it streams (sealed-format.ts): plaintext goes in as it arrives, sealed
 * segments come out, at most one segment of plaintext is held back. The header, which names
 * the plaintext's sha256, is known only at the end: the writer reserves its place with
 * `placeholder` and writes `header(sha256)` over it before the file becomes visible.
 */
import { randomBytes } from "node:crypto";
import type { MasterKey } from "./master-key";
import { KEY_BYTES } from "./master-key";
import {
	DEFAULT_SEGMENT_BYTES,
	HEADER_BYTES,
	encodeHeader,
	headerAad,
	sealSegment,
} from "./sealed-format";

export class BlobSealer {
	/** HEADER_BYTES of zeros: never a valid header, so a file cut off before `header` does not open. */
	static readonly placeholder = Buffer.alloc(HEADER_BYTES);

	private readonly dataKey = randomBytes(KEY_BYTES);
	private pending: Buffer[] = [];
	private pendingBytes = 0;
	private index = 0;
	private finished = false;

	constructor(
		private readonly masterKey: MasterKey,
		readonly segmentBytes = DEFAULT_SEGMENT_BYTES,
	) {}

	/** The id of the master key this blob's data key is wrapped with. */
	get keyId(): string {
		return this.masterKey.id;
	}

	/**
	 * Takes plaintext; answers the segments it completes (often none). A full segment is held
	 * until more bytes come, since the last segment is sealed differently.
	 */
	update(chunk: Buffer): Buffer {
		if (this.finished) throw new Error("BlobSealer: update after final");
		if (chunk.length === 0) return Buffer.alloc(0);
		this.pending.push(chunk);
		this.pendingBytes += chunk.length;
		if (this.pendingBytes <= this.segmentBytes) return Buffer.alloc(0);
		let all = Buffer.concat(this.pending, this.pendingBytes);
		const out: Buffer[] = [];
		while (all.length > this.segmentBytes) {
			out.push(
				sealSegment(this.dataKey, this.index++, false, all.subarray(0, this.segmentBytes)),
			);
			all = all.subarray(this.segmentBytes);
		}
		this.pending = [all];
		this.pendingBytes = all.length;
		return Buffer.concat(out);
	}

	/** The last segment (0 to segmentBytes of plaintext). */
	final(): Buffer {
		if (this.finished) throw new Error("BlobSealer: final called twice");
		this.finished = true;
		const last = Buffer.concat(this.pending, this.pendingBytes);
		this.pending = [];
		return sealSegment(this.dataKey, this.index++, true, last);
	}

	/** The header for the blob whose plaintext hashes to `sha256`. */
	header(sha256: string): Buffer {
		const fields = { segmentBytes: this.segmentBytes, keyId: this.masterKey.id, sha256 };
		return encodeHeader({
			...fields,
			wrappedKey: this.masterKey.wrap(this.dataKey, headerAad(fields)),
		});
	}
}
