import * as fs from "node:fs";
import * as path from "node:path";
import type { Readable } from "node:stream";
import { ArtifactCache } from "./artifact-cache";
import { ArtifactLayout } from "./artifact-layout";
import type { ArtifactCall } from "./artifact-protocol";
import { readBlobFile, statBlobFile } from "./blob-file";
import type { MasterKey } from "./encryption/master-key";
import { PlaintextViews } from "./plaintext-views";

export interface LocalBlobsOptions {
	/** The node's master key (MODELFLEET_ENCRYPTION_KEY): the cache seals what it downloads. Default null. */
	encryptionKey?: MasterKey | null;
	/** Where decrypted copies for path readers go (a folder of MODELFLEET_PLAINTEXT_DIR); required with a key. */
	plaintextDir?: string;
}

/**
 * A local file for a blob: the artifacts store's own file when that service runs on this node
 * (control, all-in-one), else a verified download into this node's cache (workers). With a
 * master key both are sealed on disk: `read` streams the plaintext without writing it
 * anywhere; `path`, for readers that must open a file by name, hands out a decrypted copy
 * outside the data directory (plaintext-views.ts).
 */
export class LocalBlobs {
	private readonly own: ArtifactLayout;
	private readonly cache: ArtifactCache;
	private readonly key: MasterKey | null;
	private readonly views: PlaintextViews | null;

	constructor(dataDir: string, call: ArtifactCall, options: LocalBlobsOptions = {}) {
		this.key = options.encryptionKey ?? null;
		this.own = new ArtifactLayout(path.join(dataDir, "artifacts"));
		this.cache = new ArtifactCache({
			root: path.join(dataDir, "artifact-cache"),
			call,
			encryptionKey: this.key,
		});
		if (this.key !== null && options.plaintextDir === undefined) {
			throw new Error("LocalBlobs: a plaintextDir is required with an encryption key");
		}
		this.views =
			this.key === null ? null : new PlaintextViews(options.plaintextDir ?? "", this.key);
	}

	/** Creates the cache's folders and deletes downloads and copies an earlier stop left. */
	async open(): Promise<void> {
		await this.cache.open();
		await this.views?.open();
	}

	/** Deletes every decrypted copy (at stop). */
	async close(): Promise<void> {
		await this.views?.clear();
	}

	/** A path to the blob's plaintext, or null when the fleet does not have it. */
	async path(sha256: string): Promise<string | null> {
		const file = await this.file(sha256);
		if (file === null || this.views === null) return file;
		const { keyId } = await statBlobFile(file);
		return keyId === null ? file : this.views.path(sha256, file);
	}

	/** A stream of the blob's plaintext, or null when the fleet does not have it. */
	async read(sha256: string): Promise<Readable | null> {
		const file = await this.file(sha256);
		return file === null ? null : readBlobFile(file, this.key, sha256);
	}

	/** Drops the decrypted copy `path` made, if any (the reader is done with it). */
	async release(sha256: string): Promise<void> {
		await this.views?.remove(sha256);
	}

	/** The blob's file on this node (sealed or plain), downloading it first on a worker. */
	private async file(sha256: string): Promise<string | null> {
		const own = this.own.blobPath(sha256);
		if (fs.existsSync(own)) return own;
		try {
			return await this.cache.path(sha256);
		} catch (err) {
			// A 404 from the artifacts service: no such blob. No artifacts service reachable
			// (Moleculer's SERVICE_NOT_FOUND, also 404) says nothing about the blob: thrown.
			const { code, type } = err as { code?: number; type?: string };
			if (code === 404 && type !== "SERVICE_NOT_FOUND") return null;
			throw err;
		}
	}
}
