/**
 * The content-addressed blob store of a node: blobs by the sha256 of their plaintext, written
 * once and made visible only when complete and verified. Where they live is the backend's
 * business (backends/: this node's directory, a JetStream Object Store, S3); uploads arrive
 * in temp files under `<root>/tmp/` (artifact-uploads.ts) and only verified bytes reach the
 * backend. With a remote backend, `<root>/sha256/ab/abcdef…` is this node's cache of it: every
 * read is served from a local file, fetched once and verified on arrival.
 */
import { createHash, randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { ArtifactCorruptError, InvalidInputError, NotFoundError } from "../errors";
import { ArtifactLayout, TEMP_SUFFIX } from "./artifact-layout";
import { openBlobFile, readBlobFile, statBlobFile } from "./blob-file";
import type { GcReport, StoredArtifact } from "./artifact-protocol";
import { resolveArtifactStoreOptions, type ArtifactStoreOptions } from "./artifact-store-options";
import type { BlobBackend, BlobObject } from "./backends/base";
import { LocalBlobBackend, isNotFound } from "./backends/local";
import { fsyncPath } from "./fs-sync";
import { decideGarbage, withinGrace, type StoredBlob } from "./gc-policy";
import { KeyedLock } from "./keyed-lock";

/** What `stat` knows of a blob. */
export interface BlobStat extends StoredBlob {
	createdAtMs: number;
}

/** A byte range of a blob: `offset` default 0, `length` default to the end. */
export interface ByteRange {
	offset?: number;
	length?: number;
}

export class ArtifactStore {
	readonly options: Readonly<ArtifactStoreOptions>;
	readonly layout: ArtifactLayout;
	/** Where the blobs are: by default the directory `root` itself. */
	readonly backend: BlobBackend;
	private readonly lock = new KeyedLock();
	private readonly fetching = new Map<string, Promise<void>>();

	constructor(
		options: Partial<ArtifactStoreOptions> & Pick<ArtifactStoreOptions, "root">,
		backend?: BlobBackend,
	) {
		this.options = resolveArtifactStoreOptions(options);
		this.layout = new ArtifactLayout(this.options.root);
		this.backend = backend ?? new LocalBlobBackend(this.options.root);
	}

	/** Whether blobs are read through this node's cache (the backend is not this directory). */
	get cached(): boolean {
		return this.backend.remote;
	}

	/**
	 * Creates the directories, opens the backend and deletes every temp file: at start no
	 * upload is in progress, so any there was cut off (the process was killed) and can never
	 * be finished.
	 */
	async open(): Promise<{ removedTempFiles: number }> {
		await fs.promises.mkdir(this.layout.blobRoot, { recursive: true });
		await fs.promises.mkdir(this.layout.tempDir, { recursive: true });
		const stale = await fs.promises.readdir(this.layout.tempDir);
		await Promise.all(
			stale.map(name =>
				fs.promises.rm(path.join(this.layout.tempDir, name), {
					recursive: true,
					force: true,
				}),
			),
		);
		await this.backend.open();
		return { removedTempFiles: stale.length };
	}

	/** Closes the backend's connection. */
	async close(): Promise<void> {
		await this.backend.close();
	}

	/**
	 * Makes a complete temp file whose bytes hash to `sha256` the blob of that hash. When the
	 * content is already stored, the temp file is dropped and the blob's last-stored time
	 * refreshed (so GC's grace period protects it for the version about to reference it).
	 */
	async adopt(tempPath: string, sha256: string, size: number): Promise<StoredArtifact> {
		return this.lock.run(sha256, async () => {
			const nowMs = this.options.now();
			try {
				if (await this.backend.touch(sha256, nowMs))
					return { sha256, size, created: false };
				const storedBytes = (await fs.promises.stat(tempPath)).size;
				await this.backend.putFile(sha256, tempPath, { size, storedBytes, nowMs });
				return { sha256, size, created: true };
			} finally {
				// Verified bytes: kept as this node's cached copy when the blob lives elsewhere.
				if (this.cached) await this.keepCopy(tempPath, sha256);
				else await fs.promises.rm(tempPath, { force: true });
			}
		});
	}

	/** Size (of the plaintext) and times of a blob, or NOT_FOUND. */
	async stat(sha256: string): Promise<BlobStat> {
		let blob: BlobObject | null;
		try {
			blob = await this.backend.stat(sha256);
		} catch (err) {
			// An object store out of reach: a copy here still answers.
			const copy = this.cached ? await this.cachedStat(sha256) : null;
			if (copy === null) throw err;
			return copy;
		}
		if (blob === null) throw new NotFoundError("artifact", sha256);
		return toBlobStat(blob);
	}

	/**
	 * A stream of a blob's bytes (or of a range of them), or NOT_FOUND. The file is opened
	 * before this returns, so a blob collected meanwhile still reads to its end.
	 */
	async read(sha256: string, range: ByteRange = {}): Promise<Readable> {
		if (this.cached) await this.fetch(sha256);
		let file: Awaited<ReturnType<typeof openBlobFile>>;
		try {
			file = await openBlobFile(this.blobFile(sha256), this.options.encryptionKey, sha256);
		} catch (err) {
			if (isNotFound(err)) throw new NotFoundError("artifact", sha256);
			throw err;
		}
		try {
			const { size } = file;
			const offset = range.offset ?? 0;
			if (offset > size) {
				throw new InvalidInputError(
					`offset ${offset} is past the end of artifact ${sha256} (${size} bytes).`,
					{ offset, size },
				);
			}
			const end = Math.min(size, range.length === undefined ? size : offset + range.length);
			if (end === offset) {
				await file.close();
				return Readable.from([]);
			}
			return file.read(offset, end);
		} catch (err) {
			await file.close();
			throw err;
		}
	}

	/** Every blob with its size and last-stored time. */
	async list(): Promise<BlobStat[]> {
		const blobs: BlobStat[] = [];
		for await (const blob of this.backend.list()) blobs.push(toBlobStat(blob));
		return blobs;
	}

	/**
	 * Deletes the blobs nothing references that were last stored before the grace period.
	 * Each deletion re-checks the blob's time under its lock: a put of the same content in
	 * the meantime keeps it. `beforeDelete` runs under that lock just before a blob goes (the
	 * service forgets its owners there); when it fails the blob stays. With a remote backend,
	 * cached copies of blobs the backend no longer has go too.
	 */
	async collectGarbage(
		referenced: Iterable<string>,
		options: { dryRun?: boolean; beforeDelete?: (sha256: string) => Promise<void> } = {},
	): Promise<GcReport> {
		const dryRun = options.dryRun ?? false;
		const { gcGraceMs, now } = this.options;
		const blobs = await this.list();
		const decision = decideGarbage({ blobs, referenced, nowMs: now(), graceMs: gcGraceMs });
		const report: GcReport = {
			dryRun,
			deleted: [],
			freedBytes: 0,
			kept: {
				referenced: decision.keep.filter(k => k.reason === "referenced").length,
				withinGrace: decision.keep.filter(k => k.reason === "within-grace").length,
			},
		};
		for (const blob of decision.remove) {
			const outcome = dryRun
				? "deleted"
				: await this.removeIfStillGarbage(blob.sha256, options.beforeDelete);
			if (outcome === "deleted") {
				report.deleted.push({ sha256: blob.sha256, size: blob.size });
				report.freedBytes += blob.size;
			} else if (outcome === "refreshed") {
				report.kept.withinGrace++;
			}
		}
		if (this.cached && !dryRun) await this.pruneCopies(new Set(blobs.map(b => b.sha256)));
		return report;
	}

	/** Deletes a blob GC chose unless its content was put again since (or it is gone already). */
	private removeIfStillGarbage(
		sha256: string,
		beforeDelete?: (sha256: string) => Promise<void>,
	): Promise<"deleted" | "refreshed" | "gone"> {
		return this.lock.run(sha256, async () => {
			const current = await this.backend.stat(sha256);
			if (current === null) return "gone";
			const { gcGraceMs, now } = this.options;
			if (withinGrace(current.lastStoredAtMs, now(), gcGraceMs)) return "refreshed";
			await beforeDelete?.(sha256);
			await this.backend.delete(sha256);
			if (this.cached) await fs.promises.rm(this.layout.blobPath(sha256), { force: true });
			return "deleted";
		});
	}

	/** Drops cached copies of blobs the backend no longer holds (another node collected them). */
	private async pruneCopies(listed: ReadonlySet<string>): Promise<void> {
		const copies = new LocalBlobBackend(this.layout.root);
		for await (const copy of copies.list()) {
			if (listed.has(copy.sha256)) continue;
			await this.lock.run(copy.sha256, async () => {
				if ((await this.backend.stat(copy.sha256)) === null)
					await copies.delete(copy.sha256);
			});
		}
	}

	/** The local file of a blob: the local backend's own, else this node's cached copy. */
	private blobFile(sha256: string): string {
		return this.backend instanceof LocalBlobBackend
			? this.backend.layout.blobPath(sha256)
			: this.layout.blobPath(sha256);
	}

	private async cachedStat(sha256: string): Promise<BlobStat | null> {
		const copy = await new LocalBlobBackend(this.layout.root).stat(sha256);
		return copy === null ? null : toBlobStat(copy);
	}

	/** Moves a verified temp file in as this node's copy of the blob (or drops it: one is there). */
	private async keepCopy(tempPath: string, sha256: string): Promise<void> {
		try {
			await fs.promises.access(this.layout.blobPath(sha256));
			await fs.promises.rm(tempPath, { force: true });
		} catch {
			await new LocalBlobBackend(this.layout.root)
				.putFile(sha256, tempPath, {
					size: 0,
					storedBytes: 0,
					nowMs: this.options.now(),
				})
				.catch(() => fs.promises.rm(tempPath, { force: true }));
		}
	}

	/**
	 * Brings a remote blob into this node's cache unless it is there: the stored bytes (sealed
	 * or plain) into a temp file, kept only when their plaintext hashes to `sha256`. Concurrent
	 * reads of one blob share one fetch.
	 */
	private async fetch(sha256: string): Promise<void> {
		try {
			await fs.promises.access(this.layout.blobPath(sha256));
			return;
		} catch {
			// not cached yet
		}
		let fetching = this.fetching.get(sha256);
		if (!fetching) {
			fetching = this.fetchOnce(sha256).finally(() => this.fetching.delete(sha256));
			this.fetching.set(sha256, fetching);
		}
		await fetching;
	}

	private async fetchOnce(sha256: string): Promise<void> {
		const temp = path.join(this.layout.tempDir, `${randomUUID()}.fetch${TEMP_SUFFIX}`);
		try {
			await pipeline(
				await this.backend.get(sha256),
				fs.createWriteStream(temp, { flags: "wx" }),
			);
			await verifyBlobFile(temp, this.options.encryptionKey, sha256);
			await fsyncPath(temp);
			await this.lock.run(sha256, () => this.keepCopy(temp, sha256));
		} finally {
			await fs.promises.rm(temp, { force: true });
		}
	}
}

/** Fails with ARTIFACT_CORRUPT unless the file's plaintext hashes to `sha256`. */
export async function verifyBlobFile(
	file: string,
	key: ArtifactStoreOptions["encryptionKey"],
	sha256: string,
): Promise<{ size: number }> {
	const hash = createHash("sha256");
	let size = 0;
	if ((await statBlobFile(file)).size > 0) {
		for await (const chunk of await readBlobFile(file, key, sha256)) {
			hash.update(chunk as Buffer);
			size += (chunk as Buffer).length;
		}
	}
	const actual = hash.digest("hex");
	if (actual !== sha256) throw new ArtifactCorruptError(sha256, actual);
	return { size };
}

function toBlobStat(blob: BlobObject): BlobStat {
	return {
		sha256: blob.sha256,
		size: blob.size,
		lastStoredAtMs: blob.lastStoredAtMs,
		createdAtMs: blob.createdAtMs,
	};
}
