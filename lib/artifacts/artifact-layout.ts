/**
 * Where blobs live on disk, shared by the store and the workers' cache:
 * `<root>/sha256/ab/abcdef…` for content, `<root>/tmp/` for bytes still arriving. Both are
 * under one root so that a finished temp file becomes a blob by an atomic rename.
 */
import { randomUUID } from "node:crypto";
import * as path from "node:path";

export const TEMP_SUFFIX = ".part";

export class ArtifactLayout {
	readonly blobRoot: string;
	readonly tempDir: string;

	constructor(readonly root: string) {
		this.blobRoot = path.join(root, "sha256");
		this.tempDir = path.join(root, "tmp");
	}

	/** The shard directory of a hash: its first two hex digits, so no directory grows huge. */
	shardDir(sha256: string): string {
		return path.join(this.blobRoot, sha256.slice(0, 2));
	}

	blobPath(sha256: string): string {
		return path.join(this.shardDir(sha256), sha256);
	}

	/** A fresh temp file name; never derived from anything a client sent. */
	newTempPath(): string {
		return path.join(this.tempDir, randomUUID() + TEMP_SUFFIX);
	}
}
