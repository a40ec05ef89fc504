import * as fs from "node:fs";
import * as path from "node:path";
import { ArtifactCache } from "./artifact-cache";
import { ArtifactLayout } from "./artifact-layout";
import type { ArtifactCall } from "./artifact-protocol";

/**
 * A local file for a blob: the artifacts store's own file when that service runs on this node
 * (control, all-in-one), else a verified download into this node's cache (workers).
 */
export class LocalBlobs {
	private readonly own: ArtifactLayout;
	private readonly cache: ArtifactCache;

	constructor(dataDir: string, call: ArtifactCall) {
		this.own = new ArtifactLayout(path.join(dataDir, "artifacts"));
		this.cache = new ArtifactCache({ root: path.join(dataDir, "artifact-cache"), call });
	}

	/** Creates the cache's folders and deletes downloads an earlier stop cut off. */
	async open(): Promise<void> {
		await this.cache.open();
	}

	/** The blob's local path, or null when the fleet does not have it. */
	async path(sha256: string): Promise<string | null> {
		const own = this.own.blobPath(sha256);
		if (fs.existsSync(own)) return own;
		try {
			return await this.cache.path(sha256);
		} catch (err) {
			if ((err as { code?: number }).code === 404) return null;
			throw err;
		}
	}
}
