/**
 * `modelfleet rotate-key`: moves every blob file of a data directory (the store and the
 * workers' cache) to a new master key by re-wrapping its data key — the 60 bytes in its
 * header — without decrypting or re-encrypting its segments. Plain blobs (stored before a key
 * was set) are sealed under the new key on the way. Each file changes atomically: a copy with
 * the new header is synced, then renamed over the old one, keeping its times (GC's clock).
 * A run cut off part-way is finished by running it again: files already under the new key
 * are skipped. Run it with the node stopped.
 */
import { createHash, randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { ArtifactLayout } from "../artifact-layout";
import { SHA256_PATTERN } from "../artifact-hash";
import { finishBlobTemp, readBlobFile, statBlobFile } from "../blob-file";
import { fsyncPath } from "../fs-sync";
import { BlobSealer } from "./blob-sealer";
import { recordKey } from "./key-check";
import type { MasterKey } from "./master-key";
import { encodeHeader, headerAad } from "./sealed-format";
import { openSealed } from "./sealed-reader";

/** The folders under a data directory that hold blob files. */
export const BLOB_ROOTS = ["artifacts", "artifact-cache"] as const;

export interface RotationReport {
	/** Sealed files whose data key was re-wrapped to the new key. */
	rewrapped: number;
	/** Plain files sealed under the new key. */
	sealed: number;
	/** Files already under the new key (an earlier, cut-off run). */
	alreadyDone: number;
	/** Files that could not be moved: sealed under a third key, or damaged. */
	failed: { file: string; reason: string }[];
}

/** Every blob file under the data directory's blob roots. */
export async function listBlobFiles(dataDir: string): Promise<string[]> {
	const files: string[] = [];
	for (const root of BLOB_ROOTS) {
		const layout = new ArtifactLayout(path.join(dataDir, root));
		let shards: string[];
		try {
			shards = await fs.promises.readdir(layout.blobRoot);
		} catch {
			continue;
		}
		for (const shard of shards) {
			let names: string[];
			try {
				names = await fs.promises.readdir(path.join(layout.blobRoot, shard));
			} catch {
				continue;
			}
			for (const name of names) {
				if (SHA256_PATTERN.test(name)) files.push(layout.blobPath(name));
			}
		}
	}
	return files;
}

/**
 * Moves every blob under `dataDir` from key `from` to key `to` (the same key only seals the
 * plain ones), then records `to` as the data directory's key when nothing failed.
 */
export async function rotateBlobKeys(
	dataDir: string,
	from: MasterKey,
	to: MasterKey,
): Promise<RotationReport> {
	const report: RotationReport = { rewrapped: 0, sealed: 0, alreadyDone: 0, failed: [] };
	for (const file of await listBlobFiles(dataDir)) {
		try {
			const { keyId } = await statBlobFile(file);
			if (keyId === to.id) {
				report.alreadyDone++;
			} else if (keyId === from.id) {
				await replaceAtomically(file, temp => rewrap(file, temp, from, to));
				report.rewrapped++;
			} else if (keyId === null) {
				await replaceAtomically(file, temp => seal(file, temp, to));
				report.sealed++;
			} else {
				report.failed.push({
					file,
					reason: `sealed under master key id ${keyId}, neither ${from.id} nor ${to.id}`,
				});
			}
		} catch (err) {
			report.failed.push({ file, reason: (err as Error).message });
		}
	}
	if (report.failed.length === 0) recordKey(dataDir, to);
	return report;
}

/** Writes the new form of `file` into a temp file beside it, then renames it over `file`. */
async function replaceAtomically(
	file: string,
	write: (temp: string) => Promise<void>,
): Promise<void> {
	// The root's tmp/ (same filesystem, so the rename is atomic; emptied when a node starts).
	const tempDir = path.join(path.dirname(file), "..", "..", "tmp");
	await fs.promises.mkdir(tempDir, { recursive: true });
	const temp = path.join(tempDir, `rotate-${path.basename(file)}.${randomUUID()}.part`);
	try {
		const before = await fs.promises.stat(file);
		await write(temp);
		await fs.promises.chmod(temp, 0o444);
		await fs.promises.utimes(temp, before.atime, before.mtime);
		await fsyncPath(temp);
		await fs.promises.rename(temp, file);
		await fsyncPath(path.dirname(file));
	} catch (err) {
		await fs.promises.rm(temp, { force: true });
		throw err;
	}
}

/** A copy of the sealed `file` whose header wraps the same data key under `to`. */
async function rewrap(file: string, temp: string, from: MasterKey, to: MasterKey): Promise<void> {
	const sha256 = path.basename(file);
	const handle = await fs.promises.open(file, "r");
	let header: Buffer;
	try {
		const sealed = await openSealed(handle, from, sha256, sha256);
		const fields = { ...sealed.header, keyId: to.id };
		header = encodeHeader({
			...fields,
			wrappedKey: to.wrap(sealed.dataKey, headerAad(fields)),
		});
	} finally {
		await handle.close();
	}
	await fs.promises.copyFile(file, temp, fs.constants.COPYFILE_FICLONE);
	await fs.promises.chmod(temp, 0o600);
	const out = await fs.promises.open(temp, "r+");
	try {
		await out.write(header, 0, header.length, 0);
	} finally {
		await out.close();
	}
}

/** The plain `file` sealed under `to`, checked against its name as it is read. */
async function seal(file: string, temp: string, to: MasterKey): Promise<void> {
	const sha256 = path.basename(file);
	const sealer = new BlobSealer(to);
	const hash = createHash("sha256");
	await fs.promises.writeFile(temp, BlobSealer.placeholder, { flag: "wx", mode: 0o600 });
	await pipeline(
		await readBlobFile(file, null, sha256),
		new Transform({
			transform(chunk: Buffer, _encoding, done: TransformCallback) {
				hash.update(chunk);
				const out = sealer.update(chunk);
				if (out.length > 0) done(null, out);
				else done();
			},
		}),
		fs.createWriteStream(temp, { flags: "a" }),
	);
	const actual = hash.digest("hex");
	if (actual !== sha256) throw new Error(`its bytes hash to ${actual}, not its name`);
	await finishBlobTemp(temp, sealer, sha256);
}
