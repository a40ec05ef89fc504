/**
 * The regular files of a tar archive (optionally gzipped), read by streaming the file once.
 * Directories, links and other entry types are passed over.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { pipeline } from "node:stream/promises";
import * as zlib from "node:zlib";
import * as tar from "tar-stream";

/**
 * @returns each regular file's bytes by its normalized path ("model/model.json", no "./")
 * @throws the tar or gzip parser's error when the archive is corrupt or truncated
 */
export async function readTarFiles(
	filePath: string,
	options: { gzip: boolean },
): Promise<Map<string, Buffer>> {
	const extract = tar.extract();
	const source = fs.createReadStream(filePath);
	const feeding = options.gzip
		? pipeline(source, zlib.createGunzip(), extract)
		: pipeline(source, extract);
	// A failure here also destroys `extract`, which ends the loop below with the same error.
	feeding.catch(() => undefined);

	const files = new Map<string, Buffer>();
	for await (const entry of extract) {
		const type = entry.header.type ?? "file";
		if (type !== "file" && type !== "contiguous-file") {
			entry.resume();
			continue;
		}
		const chunks: Buffer[] = [];
		for await (const chunk of entry) chunks.push(chunk as Buffer);
		files.set(normalizeEntryName(entry.header.name), Buffer.concat(chunks));
	}
	await feeding;
	return files;
}

export function normalizeEntryName(name: string): string {
	return path.posix.normalize(name.replace(/\\/g, "/")).replace(/^(\.\/|\/)+/, "");
}
