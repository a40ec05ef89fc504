/**
 * Decrypted copies of sealed blobs for the readers that need a file path — model runtimes
 * (onnxruntime, the pool threads) and model-file importers open files by name. They live in
 * their own directory (MODELFLEET_PLAINTEXT_DIR, by default on the memory-backed /dev/shm),
 * never under the data directory: what is at rest stays sealed. Each copy is verified against
 * its sha256 as it is written, made readable by its owner only, and the directory is emptied
 * when the node starts and stops.
 */
import { createHash, randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { ArtifactCorruptError } from "../errors";
import { readBlobFile } from "./blob-file";
import type { MasterKey } from "./encryption/master-key";

export class PlaintextViews {
	private readonly making = new Map<string, Promise<string>>();

	constructor(
		readonly root: string,
		private readonly key: MasterKey,
	) {}

	/** Creates the directory (owner only) and deletes copies left by an earlier run. */
	async open(): Promise<void> {
		await this.clear();
		await fs.promises.mkdir(this.root, { recursive: true, mode: 0o700 });
	}

	/** The path of a decrypted copy of the sealed file `sealedPath` of blob `sha256`. */
	async path(sha256: string, sealedPath: string): Promise<string> {
		const target = path.join(this.root, sha256);
		if (fs.existsSync(target)) return target;
		let making = this.making.get(sha256);
		if (!making) {
			making = this.decrypt(sha256, sealedPath, target).finally(() =>
				this.making.delete(sha256),
			);
			this.making.set(sha256, making);
		}
		return making;
	}

	/** Deletes the copy of a blob (its reader is done with it). */
	async remove(sha256: string): Promise<void> {
		await fs.promises.rm(path.join(this.root, sha256), { force: true });
	}

	/** Deletes every copy and the directory. */
	async clear(): Promise<void> {
		await fs.promises.rm(this.root, { recursive: true, force: true });
	}

	private async decrypt(sha256: string, sealedPath: string, target: string): Promise<string> {
		const temp = `${target}.${randomUUID()}.part`;
		const hash = createHash("sha256");
		try {
			await pipeline(
				await readBlobFile(sealedPath, this.key, sha256),
				new Transform({
					transform(chunk: Buffer, _encoding, done: TransformCallback) {
						hash.update(chunk);
						done(null, chunk);
					},
				}),
				fs.createWriteStream(temp, { flags: "wx", mode: 0o400 }),
			);
			const actual = hash.digest("hex");
			if (actual !== sha256) throw new ArtifactCorruptError(sha256, actual);
			await fs.promises.rename(temp, target);
			return target;
		} catch (err) {
			await fs.promises.rm(temp, { force: true });
			throw err;
		}
	}
}
