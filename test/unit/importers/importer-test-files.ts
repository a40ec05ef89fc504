/**
 * Helpers for the importer tests: a temporary folder per test file, tar archives made with
 * tar-stream, and TF.js models saved the way the TF.js file handlers lay them out.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import type { LayersModel, io } from "@tensorflow/tfjs";
import * as tar from "tar-stream";
import type { TfModule } from "../../../lib/runtimes/tfjs/load-tfjs";

export const FIXTURES = path.join(__dirname, "..", "..", "fixtures");

/** A fresh folder under os.tmpdir(), removed after the test file. */
export function temporaryFolder(): { file(name: string, bytes?: Uint8Array | string): string } {
	const folder = fs.mkdtempSync(path.join(os.tmpdir(), "modelfleet-importers-"));
	afterAll(() => fs.rmSync(folder, { recursive: true, force: true }));
	return {
		file(name, bytes) {
			const filePath = path.join(folder, name);
			if (bytes !== undefined) fs.writeFileSync(filePath, bytes);
			return filePath;
		},
	};
}

export interface TarEntry {
	name: string;
	data: Uint8Array | string;
}

export async function packTar(entries: TarEntry[], options: { gzip?: boolean } = {}) {
	const pack = tar.pack();
	for (const entry of entries) pack.entry({ name: entry.name }, Buffer.from(entry.data));
	pack.finalize();
	const chunks: Buffer[] = [];
	for await (const chunk of pack) chunks.push(chunk as Buffer);
	const bytes = Buffer.concat(chunks);
	return options.gzip ? zlib.gzipSync(bytes) : bytes;
}

/** Saves a layers model through tf.io.withSaveHandler. */
export async function saveArtifacts(tf: TfModule, model: LayersModel): Promise<io.ModelArtifacts> {
	let saved: io.ModelArtifacts | undefined;
	await model.save(
		tf.io.withSaveHandler(async artifacts => {
			saved = artifacts;
			return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
		}),
	);
	if (saved === undefined) throw new Error("the save handler was not called");
	return saved;
}

/**
 * The entries of a TF.js model folder: model.json and its weights split over `shards` files, as
 * tfjs-converter writes them (group1-shard1of2.bin …).
 */
export function modelFolderEntries(
	artifacts: io.ModelArtifacts,
	options: { shards?: number; folder?: string } = {},
): TarEntry[] {
	const shards = options.shards ?? 1;
	const prefix = options.folder ? `${options.folder}/` : "";
	const weights = new Uint8Array(artifacts.weightData as ArrayBuffer);
	const size = Math.ceil(weights.byteLength / shards);
	const files = Array.from({ length: shards }, (_, i) => ({
		name: `group1-shard${i + 1}of${shards}.bin`,
		data: weights.subarray(i * size, (i + 1) * size),
	}));
	const modelJson = {
		modelTopology: artifacts.modelTopology,
		format: artifacts.format,
		generatedBy: artifacts.generatedBy,
		convertedBy: artifacts.convertedBy,
		signature: artifacts.signature,
		weightsManifest: [{ paths: files.map(f => f.name), weights: artifacts.weightSpecs }],
	};
	return [
		{ name: `${prefix}model.json`, data: JSON.stringify(modelJson) },
		...files.map(f => ({ name: prefix + f.name, data: f.data })),
	];
}
