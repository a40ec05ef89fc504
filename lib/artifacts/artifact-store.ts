/**
 * The content-addressed blob store of a node: `<root>/sha256/ab/abcdef…`, one file per distinct
 * content, written once (read-only afterwards) and made visible only by an atomic rename of a
 * complete, verified temp file. Uploads are in artifact-uploads.ts; this file owns the blobs.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Readable } from "node:stream";
import { ArtifactUnreadableError, InvalidInputError, NotFoundError } from "../errors";
import { ArtifactLayout } from "./artifact-layout";
import { openBlobFile, statBlobFile, type BlobFileInfo } from "./blob-file";
import { SHA256_PATTERN } from "./artifact-hash";
import type { GcReport, StoredArtifact } from "./artifact-protocol";
import { resolveArtifactStoreOptions, type ArtifactStoreOptions } from "./artifact-store-options";
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

function isNotFound(err: unknown): boolean {
	return (err as NodeJS.ErrnoException | null)?.code === "ENOENT";
}

export class ArtifactStore {
	readonly options: Readonly<ArtifactStoreOptions>;
	readonly layout: ArtifactLayout;
	private readonly lock = new KeyedLock();

	constructor(options: Partial<ArtifactStoreOptions> & Pick<ArtifactStoreOptions, "root">) {
		this.options = resolveArtifactStoreOptions(options);
		this.layout = new ArtifactLayout(this.options.root);
	}

	/**
	 * Creates the directories and deletes every temp file: at start no upload is in progress,
	 * so any there was cut off (the process was killed) and can never be finished.
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
		return { removedTempFiles: stale.length };
	}

	/**
	 * Makes a complete temp file whose bytes hash to `sha256` the blob of that hash. When the
	 * content is already stored, the temp file is dropped and the blob's last-stored time
	 * refreshed (so GC's grace period protects it for the version about to reference it).
	 */
	async adopt(tempPath: string, sha256: string, size: number): Promise<StoredArtifact> {
		return this.lock.run(sha256, async () => {
			const target = this.layout.blobPath(sha256);
			const now = new Date(this.options.now());
			try {
				await fs.promises.utimes(target, now, now);
				await fs.promises.rm(tempPath, { force: true });
				return { sha256, size, created: false };
			} catch (err) {
				if (!isNotFound(err)) throw err;
			}
			// Durable before visible: a blob that exists under its hash must hold those bytes.
			await fsyncPath(tempPath);
			await fs.promises.mkdir(this.layout.shardDir(sha256), { recursive: true });
			await fs.promises.chmod(tempPath, 0o444);
			await fs.promises.utimes(tempPath, now, now);
			await fs.promises.rename(tempPath, target);
			await fsyncPath(this.layout.shardDir(sha256));
			return { sha256, size, created: true };
		});
	}

	/** Size (of the plaintext) and times of a blob, or NOT_FOUND. */
	async stat(sha256: string): Promise<BlobStat> {
		try {
			return toBlobStat(sha256, await statBlobFile(this.layout.blobPath(sha256)));
		} catch (err) {
			if (isNotFound(err)) throw new NotFoundError("artifact", sha256);
			throw err;
		}
	}

	/**
	 * A stream of a blob's bytes (or of a range of them), or NOT_FOUND. The file is opened
	 * before this returns, so a blob collected meanwhile still reads to its end.
	 */
	async read(sha256: string, range: ByteRange = {}): Promise<Readable> {
		let file: Awaited<ReturnType<typeof openBlobFile>>;
		try {
			file = await openBlobFile(
				this.layout.blobPath(sha256),
				this.options.encryptionKey,
				sha256,
			);
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
				return emptyStream();
			}
			return file.read(offset, end);
		} catch (err) {
			await file.close();
			throw err;
		}
	}

	/** Every blob with its size and last-stored time. */
	async list(): Promise<StoredBlob[]> {
		const blobs: StoredBlob[] = [];
		for (const shard of await fs.promises.readdir(this.layout.blobRoot)) {
			let names: string[];
			try {
				names = await fs.promises.readdir(path.join(this.layout.blobRoot, shard));
			} catch {
				continue; // not a directory, or removed meanwhile
			}
			for (const name of names) {
				if (!SHA256_PATTERN.test(name) || !name.startsWith(shard)) continue;
				try {
					const info = await statBlobFile(this.layout.blobPath(name));
					if (info.stats.isFile()) blobs.push(toBlobStat(name, info));
				} catch (err) {
					if (isNotFound(err)) continue;
					if (!(err instanceof ArtifactUnreadableError)) throw err;
					// A damaged sealed file is still a blob GC may collect: count its disk bytes.
					const stats = await fs.promises.stat(this.layout.blobPath(name));
					blobs.push(toBlobStat(name, { size: stats.size, keyId: null, stats }));
				}
			}
		}
		return blobs;
	}

	/**
	 * Deletes the blobs nothing references that were last stored before the grace period.
	 * Each deletion re-checks the blob's time under its lock: a put of the same content in
	 * the meantime keeps it. `beforeDelete` runs under that lock just before a blob goes (the
	 * service forgets its owners there); when it fails the blob stays.
	 */
	async collectGarbage(
		referenced: Iterable<string>,
		options: { dryRun?: boolean; beforeDelete?: (sha256: string) => Promise<void> } = {},
	): Promise<GcReport> {
		const dryRun = options.dryRun ?? false;
		const { gcGraceMs, now } = this.options;
		const decision = decideGarbage({
			blobs: await this.list(),
			referenced,
			nowMs: now(),
			graceMs: gcGraceMs,
		});
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
		return report;
	}

	/** Deletes a blob GC chose unless its content was put again since (or it is gone already). */
	private removeIfStillGarbage(
		sha256: string,
		beforeDelete?: (sha256: string) => Promise<void>,
	): Promise<"deleted" | "refreshed" | "gone"> {
		return this.lock.run(sha256, async () => {
			const current = await this.stat(sha256).catch(() => null);
			if (current === null) return "gone";
			const { gcGraceMs, now } = this.options;
			if (withinGrace(current.lastStoredAtMs, now(), gcGraceMs)) return "refreshed";
			await beforeDelete?.(sha256);
			await fs.promises.rm(this.layout.blobPath(sha256), { force: true });
			return "deleted";
		});
	}
}

function toBlobStat(sha256: string, { size, stats }: BlobFileInfo): BlobStat {
	return {
		sha256,
		size,
		lastStoredAtMs: stats.mtimeMs,
		// Not every filesystem records a birth time; then the first store is not known.
		createdAtMs: stats.birthtimeMs > 0 ? stats.birthtimeMs : stats.mtimeMs,
	};
}

function emptyStream(): Readable {
	return new Readable({
		read() {
			this.push(null);
		},
	});
}
