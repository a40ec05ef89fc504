/**
 * Blobs in a directory of this node: `<root>/sha256/ab/abcdef…`, one read-only file per
 * content, made visible only by an atomic rename of a complete temp file (all-in-one nodes,
 * and a fleet whose one control node keeps the models on its disk).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { ArtifactUnreadableError, NotFoundError } from "../../errors";
import { SHA256_PATTERN } from "../artifact-hash";
import { ArtifactLayout } from "../artifact-layout";
import { statBlobFile, type BlobFileInfo } from "../blob-file";
import { fsyncPath } from "../fs-sync";
import type { BlobBackend, BlobObject, BlobPutInfo, StoredRange } from "./base";

export function isNotFound(err: unknown): boolean {
	return (err as NodeJS.ErrnoException | null)?.code === "ENOENT";
}

export class LocalBlobBackend implements BlobBackend {
	readonly kind = "local";
	readonly remote = false;
	readonly layout: ArtifactLayout;

	constructor(root: string) {
		this.layout = new ArtifactLayout(path.resolve(root));
	}

	get description(): string {
		return `the directory ${this.layout.root}`;
	}

	async open(): Promise<void> {
		await fs.promises.mkdir(this.layout.blobRoot, { recursive: true });
		await fs.promises.mkdir(this.layout.tempDir, { recursive: true });
	}

	async close(): Promise<void> {}

	async put(sha256: string, source: Readable, info: BlobPutInfo): Promise<void> {
		await this.open();
		const temp = this.layout.newTempPath();
		try {
			await pipeline(source, fs.createWriteStream(temp, { flags: "wx" }));
			await this.putFile(sha256, temp, info);
		} finally {
			await fs.promises.rm(temp, { force: true });
		}
	}

	/** Moves the file in (it must be on this directory's filesystem, as the store's temp files are). */
	async putFile(sha256: string, file: string, info: BlobPutInfo): Promise<void> {
		const target = this.layout.blobPath(sha256);
		const now = new Date(info.nowMs);
		// Durable before visible: a blob that exists under its hash must hold those bytes.
		await fsyncPath(file);
		await fs.promises.mkdir(this.layout.shardDir(sha256), { recursive: true });
		await fs.promises.chmod(file, 0o444);
		await fs.promises.utimes(file, now, now);
		await fs.promises.rename(file, target);
		await fsyncPath(this.layout.shardDir(sha256));
	}

	async get(sha256: string, range: StoredRange = {}): Promise<Readable> {
		let handle: fs.promises.FileHandle;
		try {
			handle = await fs.promises.open(this.layout.blobPath(sha256), "r");
		} catch (err) {
			if (isNotFound(err)) throw new NotFoundError("artifact", sha256);
			throw err;
		}
		const start = range.offset ?? 0;
		const { size } = await handle.stat();
		const end = Math.min(size, range.length === undefined ? size : start + range.length);
		if (end <= start) {
			await handle.close();
			return Readable.from([]);
		}
		return handle.createReadStream({ start, end: end - 1, highWaterMark: 256 * 1024 });
	}

	async stat(sha256: string): Promise<BlobObject | null> {
		try {
			return toBlobObject(sha256, await statBlobFile(this.layout.blobPath(sha256)));
		} catch (err) {
			if (isNotFound(err)) return null;
			throw err;
		}
	}

	async touch(sha256: string, nowMs: number): Promise<boolean> {
		const now = new Date(nowMs);
		try {
			await fs.promises.utimes(this.layout.blobPath(sha256), now, now);
			return true;
		} catch (err) {
			if (isNotFound(err)) return false;
			throw err;
		}
	}

	async *list(): AsyncGenerator<BlobObject> {
		let shards: string[];
		try {
			shards = await fs.promises.readdir(this.layout.blobRoot);
		} catch (err) {
			if (isNotFound(err)) return;
			throw err;
		}
		for (const shard of shards) {
			let names: string[];
			try {
				names = await fs.promises.readdir(path.join(this.layout.blobRoot, shard));
			} catch {
				continue; // not a directory, or removed meanwhile
			}
			for (const name of names) {
				if (!SHA256_PATTERN.test(name) || !name.startsWith(shard)) continue;
				const file = this.layout.blobPath(name);
				try {
					const info = await statBlobFile(file);
					if (info.stats.isFile()) yield toBlobObject(name, info);
				} catch (err) {
					if (isNotFound(err)) continue;
					if (!(err instanceof ArtifactUnreadableError)) throw err;
					// A damaged sealed file is still a blob GC may collect: count its disk bytes.
					const stats = await fs.promises.stat(file);
					yield toBlobObject(name, { size: stats.size, keyId: null, stats });
				}
			}
		}
	}

	async delete(sha256: string): Promise<void> {
		await fs.promises.rm(this.layout.blobPath(sha256), { force: true });
	}
}

function toBlobObject(sha256: string, { size, stats }: BlobFileInfo): BlobObject {
	return {
		sha256,
		size,
		storedBytes: stats.size,
		lastStoredAtMs: stats.mtimeMs,
		// Not every filesystem records a birth time; then the first store is not known.
		createdAtMs: stats.birthtimeMs > 0 ? stats.birthtimeMs : stats.mtimeMs,
	};
}
