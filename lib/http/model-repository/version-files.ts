/**
 * The files a Triton load sends for one version, as the one model file the registry imports:
 * an ONNX or XGBoost JSON model is its single file; a TF.js model (model.json and its weight
 * shards) becomes a tar of them, the form the TF.js importer reads.
 */
import { buffer } from "node:stream/consumers";
import * as tar from "tar-stream";
import { InvalidInputError } from "../../errors";
import type { ModelFormat } from "../../model-spec/model-schema";

export interface VersionFile {
	/** The bytes to store and import. */
	bytes: Buffer;
	/** The name the registry records (the sent path, or `model.tar` for TF.js). */
	fileName: string;
}

/** A tar archive of the files, in the order given. */
export function tarOf(files: ReadonlyMap<string, Buffer>): Promise<Buffer> {
	const pack = tar.pack();
	const done = buffer(pack);
	for (const [name, bytes] of files) pack.entry({ name, size: bytes.length, mode: 0o644 }, bytes);
	pack.finalize();
	return done;
}

/**
 * The model file of one version.
 * @throws InvalidInputError (400) for several files where the format takes one
 */
export async function versionFile(
	format: ModelFormat,
	version: string,
	files: ReadonlyMap<string, Buffer>,
): Promise<VersionFile> {
	if (format === "tfjs") return { bytes: await tarOf(files), fileName: "model.tar" };
	if (files.size !== 1)
		throw new InvalidInputError(
			`Version ${version}: a ${format === "onnx" ? "ONNX" : "XGBoost JSON"} model is one file; got ${files.size} (${[...files.keys()].join(", ")}).`,
			{ field: "parameters" },
		);
	const [[path, bytes]] = files;
	return { bytes, fileName: path.slice(path.lastIndexOf("/") + 1) };
}
