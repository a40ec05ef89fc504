/**
 * The receiving side of `artifacts.get`: fetches a blob to a local file in ranged parts (one
 * in flight, so memory stays bounded whatever the size), hashing as it writes, and makes the
 * file visible only when its bytes hash to the name asked for.
 */
import { createHash, randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Readable } from "node:stream";
import { Errors } from "moleculer";
import { ArtifactCorruptError, InvalidInputError } from "../errors";
import { requireSha256 } from "./artifact-hash";
import { TEMP_SUFFIX } from "./artifact-layout";
import {
	ARTIFACT_ACTIONS,
	DEFAULT_PART_BYTES,
	type ArtifactCall,
	type ArtifactCallOptions,
	type ArtifactStat,
	type GetParams,
} from "./artifact-protocol";
import { createBlobTemp, finishBlobTemp, sealerFor } from "./blob-file";
import type { MasterKey } from "./encryption/master-key";
import { fsyncPath } from "./fs-sync";
import { writeHashed } from "./hashed-write";

export interface DownloadOptions {
	/** Bytes per ranged `get`. Default DEFAULT_PART_BYTES (1 MiB). */
	partBytes?: number;
	/** Timeout of each call, ms. Default the broker's request timeout. */
	timeout?: number;
	/** A part that sends nothing for this long fails the download. Default 60 s; 0 waits forever. */
	stallTimeoutMs?: number;
	/**
	 * Where the temp file goes while bytes arrive. Default the destination's directory; it must
	 * be on the destination's filesystem, so that the final rename is atomic.
	 */
	tempDir?: string;
	/** Seals the file under this master key as it is written (the hash stays the plaintext's). Default null: plain. */
	encryptionKey?: MasterKey | null;
}

export interface DownloadedArtifact {
	sha256: string;
	size: number;
	path: string;
}

/**
 * Fetches blob `sha256` to `destination`. A mismatch between the bytes and the hash answers
 * ARTIFACT_CORRUPT and leaves nothing behind; a missing blob answers NOT_FOUND.
 */
export async function downloadArtifact(
	call: ArtifactCall,
	sha256: string,
	destination: string,
	options: DownloadOptions = {},
): Promise<DownloadedArtifact> {
	const expected = requireSha256(sha256);
	const partBytes = options.partBytes ?? DEFAULT_PART_BYTES;
	if (!Number.isSafeInteger(partBytes) || partBytes <= 0) {
		throw new InvalidInputError(`partBytes must be a positive whole number; got ${partBytes}.`);
	}
	const stallTimeoutMs = options.stallTimeoutMs ?? 60_000;
	const callOptions: ArtifactCallOptions =
		options.timeout === undefined ? {} : { timeout: options.timeout };

	const stat = (await call(
		ARTIFACT_ACTIONS.stat,
		{ sha256: expected },
		callOptions,
	)) as ArtifactStat;
	// Every range from the node that has it: another control node's disk may not.
	callOptions.nodeID = stat.nodeID;

	const tempDir = options.tempDir ?? path.dirname(destination);
	await fs.promises.mkdir(tempDir, { recursive: true });
	await fs.promises.mkdir(path.dirname(destination), { recursive: true });
	const temp = path.join(tempDir, `${path.basename(destination)}.${randomUUID()}${TEMP_SUFFIX}`);
	const hash = createHash("sha256");
	const sealer = sealerFor(options.encryptionKey ?? null);
	let received = 0;
	try {
		await createBlobTemp(temp, sealer);
		while (received < stat.size) {
			const length = Math.min(partBytes, stat.size - received);
			const params: GetParams = { sha256: expected, offset: received, length };
			const part = (await call(ARTIFACT_ACTIONS.get, params, callOptions)) as Readable;
			const written = await writeHashed(part, temp, {
				hash,
				flags: "a",
				startSize: received,
				limitBytes: received + length,
				seal: sealer,
				tooLarge: () => new ArtifactCorruptError(expected, hash.copy().digest("hex")),
				stallTimeoutMs,
				stalled: () =>
					new Errors.RequestTimeoutError({
						action: ARTIFACT_ACTIONS.get,
						nodeID: stat.nodeID,
						stalledMs: stallTimeoutMs,
					}),
			});
			if (written === 0) throw new ArtifactCorruptError(expected, hash.copy().digest("hex"));
			received += written;
		}
		const actual = hash.digest("hex");
		if (actual !== expected) throw new ArtifactCorruptError(expected, actual);
		await finishBlobTemp(temp, sealer, expected);
		await fsyncPath(temp);
		await fs.promises.rename(temp, destination);
		return { sha256: expected, size: received, path: destination };
	} catch (err) {
		await fs.promises.rm(temp, { force: true });
		throw err;
	}
}
