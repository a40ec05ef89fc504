/**
 * A worker's local copy of blobs, by hash, under `<root>/sha256/ab/abcdef…`: a blob is fetched
 * from the `artifacts` service on first use, verified on arrival, and read from disk after.
 * Content-addressed, so a cached file never goes stale.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { requireSha256 } from "./artifact-hash";
import { ArtifactLayout } from "./artifact-layout";
import type { ArtifactCall } from "./artifact-protocol";
import { downloadArtifact, type DownloadOptions } from "./artifact-download";
import type { MasterKey } from "./encryption/master-key";

export interface ArtifactCacheOptions {
	/** The directory the cache owns; nodes use `<dataDir>/artifact-cache`. Required. */
	root: string;
	/** How to reach the `artifacts` service. Required. */
	call: ArtifactCall;
	/** Passed to every download. Default: downloadArtifact's defaults. */
	download?: Omit<DownloadOptions, "tempDir" | "encryptionKey">;
	/** The node's master key: downloads are sealed under it on disk. Default null: kept plain. */
	encryptionKey?: MasterKey | null;
}

export class ArtifactCache {
	readonly layout: ArtifactLayout;
	private readonly fetching = new Map<string, Promise<string>>();

	constructor(private readonly options: ArtifactCacheOptions) {
		this.layout = new ArtifactLayout(options.root);
	}

	/** Creates the directories and deletes downloads cut off by an earlier stop. */
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

	/** Whether the blob is on local disk already. */
	async has(sha256: string): Promise<boolean> {
		try {
			await fs.promises.access(this.layout.blobPath(requireSha256(sha256)));
			return true;
		} catch {
			return false;
		}
	}

	/**
	 * The local path of a blob, downloading it first when it is not here. Concurrent calls for
	 * one hash share a single download.
	 */
	async path(sha256: string): Promise<string> {
		const key = requireSha256(sha256);
		const target = this.layout.blobPath(key);
		if (await this.has(key)) return target;
		let fetching = this.fetching.get(key);
		if (!fetching) {
			fetching = downloadArtifact(this.options.call, key, target, {
				...this.options.download,
				tempDir: this.layout.tempDir,
				encryptionKey: this.options.encryptionKey ?? null,
			})
				.then(async () => {
					await fs.promises.chmod(target, 0o444);
					return target;
				})
				.finally(() => this.fetching.delete(key));
			this.fetching.set(key, fetching);
		}
		return fetching;
	}

	/** Drops a blob from the cache (the next `path` fetches it again). */
	async evict(sha256: string): Promise<void> {
		await fs.promises.rm(this.layout.blobPath(requireSha256(sha256)), { force: true });
	}
}
