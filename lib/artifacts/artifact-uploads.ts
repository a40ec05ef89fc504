/**
 * Uploads in progress on a node: bytes stream into a temp file under the store's root while
 * being hashed and counted; when complete and verified the temp file is adopted as a blob.
 * Anything that goes wrong deletes the temp file: a failed upload leaves nothing behind.
 */
import { createHash, type Hash } from "node:crypto";
import * as fs from "node:fs";
import type { Readable } from "node:stream";
import { Errors } from "moleculer";
import {
	ArtifactCorruptError,
	InvalidInputError,
	NotFoundError,
	PayloadTooLargeError,
	StateConflictError,
} from "../errors";
import { requireSha256 } from "./artifact-hash";
import { ARTIFACT_ACTIONS, type StoredArtifact } from "./artifact-protocol";
import type { ArtifactStore } from "./artifact-store";
import { createBlobTemp, finishBlobTemp, sealerFor } from "./blob-file";
import type { BlobSealer } from "./encryption/blob-sealer";
import { writeHashed } from "./hashed-write";

/** Upload ids are chosen by clients (a UUID is usual); they never reach a file name. */
export const UPLOAD_ID_PATTERN = /^[A-Za-z0-9_-]{8,100}$/;

/** One part of a multipart upload, as `put` receives it. */
export interface UploadPart {
	uploadId: string;
	/** Bytes of the upload before this part. */
	offset: number;
	/** This call completes the upload. */
	final: boolean;
	expectedSha256?: string;
	/** The node sending the parts: when it leaves the fleet, its uploads are abandoned. */
	sender?: string;
}

interface Upload {
	/** null for a one-shot put, which nobody can address. */
	id: string | null;
	tempPath: string;
	hash: Hash;
	/** Encrypts the bytes as they arrive when the store has a master key; null writes them plain. */
	sealer: BlobSealer | null;
	size: number;
	expectedSha256: string | null;
	sender: string | null;
	busy: boolean;
	lastActivityMs: number;
}

export class ArtifactUploads {
	private readonly uploads = new Map<string, Upload>();

	constructor(private readonly store: ArtifactStore) {}

	/** Multipart uploads started and not yet finished or abandoned. */
	get inProgress(): number {
		return this.uploads.size;
	}

	/** Stores a whole stream as one blob. */
	async put(
		source: Readable,
		options: { expectedSha256?: string } = {},
	): Promise<StoredArtifact> {
		ignoreLateErrors(source);
		const expected = this.expected(options.expectedSha256, source);
		const upload = this.begin(null, expected, null);
		try {
			await this.createTemp(upload);
			await this.append(upload, source);
			return await this.commit(upload);
		} finally {
			await this.discard(upload);
		}
	}

	/**
	 * Receives one part of a multipart upload (`source` may be null on the final call). Parts
	 * come one at a time and in order; a part that fails ends the whole upload.
	 */
	async putPart(
		part: UploadPart,
		source: Readable | null,
	): Promise<StoredArtifact | { uploadId: string; received: number }> {
		if (source) ignoreLateErrors(source);
		const expected = this.expected(part.expectedSha256, source);
		if (!UPLOAD_ID_PATTERN.test(part.uploadId)) {
			drain(source);
			throw new InvalidInputError(
				`uploadId must be 8–100 letters, digits, '-' or '_' (a UUID is usual); got "${part.uploadId.slice(0, 100)}".`,
				{ field: "uploadId" },
			);
		}
		if (source === null && !part.final) {
			throw new InvalidInputError(
				"Only the final call of an upload may come without a stream; send this part's bytes as the call's stream.",
			);
		}
		let upload = this.uploads.get(part.uploadId);
		const isNew = upload === undefined;
		if (!upload) {
			if (part.offset !== 0) {
				drain(source);
				throw new NotFoundError("upload", part.uploadId);
			}
			upload = this.begin(part.uploadId, expected, part.sender ?? null);
		} else {
			this.checkNext(upload, part, expected, source);
		}
		upload.busy = true;
		let finished = false;
		try {
			if (isNew) await this.createTemp(upload);
			if (source) await this.append(upload, source);
			if (!part.final) return { uploadId: part.uploadId, received: upload.size };
			finished = true;
			return await this.commit(upload);
		} catch (err) {
			finished = true;
			throw err;
		} finally {
			upload.busy = false;
			upload.lastActivityMs = this.store.options.now();
			if (finished) await this.discard(upload);
		}
	}

	/** Abandons multipart uploads that received nothing for the idle timeout; returns their ids. */
	async expireIdle(): Promise<string[]> {
		const { now, uploadIdleTimeoutMs } = this.store.options;
		const expired = [...this.uploads.values()].filter(
			u => !u.busy && now() - u.lastActivityMs > uploadIdleTimeoutMs,
		);
		await Promise.all(expired.map(u => this.discard(u)));
		return expired.map(u => u.id ?? "");
	}

	/**
	 * Abandons the uploads of a node that left the fleet, between parts; one receiving a part
	 * fails by itself when the transit closes its stream. Returns their ids.
	 */
	async abandonFrom(sender: string): Promise<string[]> {
		const gone = [...this.uploads.values()].filter(u => u.sender === sender && !u.busy);
		await Promise.all(gone.map(u => this.discard(u)));
		return gone.map(u => u.id ?? "");
	}

	/** Abandons every multipart upload that is not receiving a part right now (at shutdown). */
	async abortIdle(): Promise<void> {
		await Promise.all(
			[...this.uploads.values()].filter(u => !u.busy).map(u => this.discard(u)),
		);
	}

	private expected(value: string | undefined, source: Readable | null): string | null {
		if (value === undefined) return null;
		try {
			return requireSha256(value, "expectedSha256");
		} catch (err) {
			drain(source);
			throw err;
		}
	}

	private checkNext(
		upload: Upload,
		part: UploadPart,
		expected: string | null,
		source: Readable | null,
	): void {
		let problem: Error | null = null;
		if (upload.busy) {
			problem = new StateConflictError(
				`Upload ${part.uploadId} is receiving a part right now; send its parts one at a time.`,
				{ uploadId: part.uploadId },
			);
		} else if (part.offset !== upload.size) {
			problem = new StateConflictError(
				`Upload ${part.uploadId} has received ${upload.size} bytes, but this part starts at offset ${part.offset}; send the part that starts at ${upload.size}.`,
				{ uploadId: part.uploadId, received: upload.size, offset: part.offset },
			);
		} else if (
			expected !== null &&
			upload.expectedSha256 !== null &&
			expected !== upload.expectedSha256
		) {
			problem = new InvalidInputError(
				`expectedSha256 ${expected} differs from the ${upload.expectedSha256} given earlier in upload ${part.uploadId}.`,
				{ field: "expectedSha256" },
			);
		}
		if (problem) {
			drain(source);
			throw problem;
		}
		if (expected !== null) upload.expectedSha256 = expected;
	}

	/** A new upload, registered at once so that a concurrent part of the same id sees it. */
	private begin(id: string | null, expectedSha256: string | null, sender: string | null): Upload {
		const upload: Upload = {
			id,
			tempPath: this.store.layout.newTempPath(),
			hash: createHash("sha256"),
			sealer: sealerFor(this.store.options.encryptionKey),
			size: 0,
			expectedSha256,
			sender,
			busy: false,
			lastActivityMs: this.store.options.now(),
		};
		if (id !== null) this.uploads.set(id, upload);
		return upload;
	}

	private async createTemp(upload: Upload): Promise<void> {
		await createBlobTemp(upload.tempPath, upload.sealer);
	}

	private async append(upload: Upload, source: Readable): Promise<void> {
		const { maxBytes, stallTimeoutMs } = this.store.options;
		upload.size += await writeHashed(source, upload.tempPath, {
			hash: upload.hash,
			flags: "a",
			startSize: upload.size,
			limitBytes: maxBytes,
			seal: upload.sealer,
			tooLarge: () => new PayloadTooLargeError(maxBytes),
			stallTimeoutMs,
			stalled: () =>
				new Errors.RequestTimeoutError({
					action: ARTIFACT_ACTIONS.put,
					nodeID: "local",
					stalledMs: stallTimeoutMs,
				}),
		});
	}

	private async commit(upload: Upload): Promise<StoredArtifact> {
		const actual = upload.hash.digest("hex");
		if (upload.expectedSha256 !== null && actual !== upload.expectedSha256) {
			throw new ArtifactCorruptError(upload.expectedSha256, actual);
		}
		await finishBlobTemp(upload.tempPath, upload.sealer, actual);
		return this.store.adopt(upload.tempPath, actual, upload.size);
	}

	/** Forgets an upload and deletes its temp file (gone already when it was adopted). */
	private async discard(upload: Upload): Promise<void> {
		if (upload.id !== null && this.uploads.get(upload.id) === upload) {
			this.uploads.delete(upload.id);
		}
		await fs.promises.rm(upload.tempPath, { force: true });
	}
}

/**
 * Lets a stream that will not be read flow to nowhere: a Moleculer request stream keeps
 * receiving chunks whether read or not, and would otherwise buffer them all.
 */
function drain(source: Readable | null): void {
	if (source && !source.destroyed) source.resume();
}

/**
 * A Moleculer request stream learns of the sender's failure by an `error` event that may come
 * after the upload has failed and stopped listening; unheard, it would be thrown. While bytes
 * are being written, the write's own listeners see it.
 */
function ignoreLateErrors(source: Readable): void {
	source.on("error", () => undefined);
}
