import { pack } from "tar-stream";
import type { TfjsModelFiles } from "./training-types";

/**
 * A trained TF.js layers model as one tar (model.json + its weights file): the form the TF.js
 * importer reads, so the file registered beside the ONNX export can be served as it is.
 */
export async function tfjsTar(files: TfjsModelFiles): Promise<Uint8Array> {
	const archive = pack();
	const chunks: Buffer[] = [];
	archive.on("data", (chunk: unknown) => chunks.push(chunk as Buffer));
	const done = new Promise<void>((resolve, reject) => {
		archive.on("end", resolve);
		archive.on("error", reject);
	});
	archive.entry({ name: "model.json" }, files.modelJson);
	archive.entry({ name: files.weightsPath }, Buffer.from(files.weights));
	archive.finalize();
	await done;
	return new Uint8Array(Buffer.concat(chunks));
}
