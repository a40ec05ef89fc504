/**
 * TF.js models, layers or graph, uploaded as a tar (or .tar.gz) of model.json and its weight
 * files. The model is loaded with TF.js itself (wasm backend) from memory, which is the check;
 * its inputs and outputs give the schema, then it is disposed.
 *
 * Names: a layers model's tensors are named after their layers (the input layer, the output
 * layer), since TF.js's own tensor names get a per-process counter ("…_1"); a graph model's
 * are the names `execute` takes (signature keys where model.json has a signature).
 * A graph model's output shapes come from the signature; without one, the model is run once on
 * zeros (dynamic dimensions as 1) and the first dimension is taken as the batch (-1).
 */
import * as fs from "node:fs/promises";
import { ArchiveTooLargeError, InvalidModelFileError } from "../errors";
import {
	graphModelSchema,
	layersModelSchema,
	type GraphSignature,
} from "../runtimes/tfjs/tfjs-schema";
import { isSystemError, reasonOf } from "../files/error-reasons";
import type { ImportedModel, ModelImporter } from "./model-importer";
import { DEFAULT_ARCHIVE_LIMITS, readTarFiles, type ArchiveLimits } from "../files/tar-files";
import { tfjsArtifactsFromFiles } from "../runtimes/tfjs/tfjs-artifacts";
import { loadTfjs } from "../runtimes/tfjs/load-tfjs";

export class TfjsImporter implements ModelImporter {
	readonly format = "tfjs" as const;
	readonly label = "TF.js";

	/** @param archiveLimits how far the tar may unpack (ArchiveTooLargeError, 413, past them) */
	constructor(private readonly archiveLimits: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS) {}

	async import(filePath: string): Promise<ImportedModel> {
		let files: Map<string, Buffer>;
		try {
			files = await readTarFiles(filePath, {
				gzip: await isGzip(filePath),
				limits: this.archiveLimits,
			});
		} catch (error) {
			if (isSystemError(error) || error instanceof ArchiveTooLargeError) throw error;
			throw new InvalidModelFileError(
				this.label,
				`not a readable tar archive: ${reasonOf(error, filePath)}`,
			);
		}
		const { artifacts, modelType, modelJsonPath, weightBytes, weightFiles } =
			tfjsArtifactsFromFiles(files);
		files.clear();

		const details: Record<string, unknown> = { modelType, weightBytes, weightFiles };
		if (modelJsonPath !== "model.json") details.modelJsonPath = modelJsonPath;
		if (artifacts.generatedBy) details.generatedBy = artifacts.generatedBy;
		if (artifacts.convertedBy) details.convertedBy = artifacts.convertedBy;

		const tf = await loadTfjs();
		const handler = tf.io.fromMemory(artifacts);
		if (modelType === "layers") {
			const model = await this.load(() => tf.loadLayersModel(handler, { strict: true }));
			try {
				return {
					format: this.format,
					schema: this.schema(() => layersModelSchema(model)),
					details,
				};
			} finally {
				model.dispose();
			}
		}
		const model = await this.load(() => tf.loadGraphModel(handler));
		try {
			const signature = (artifacts.signature ?? {}) as GraphSignature;
			const read = await this.schema(() => graphModelSchema(tf, model, signature));
			if (read.probedOutputShapes) details.outputShapesFrom = "a run on zeros";
			return { format: this.format, schema: read.schema, details };
		} finally {
			model.dispose();
		}
	}

	/** The schema as the runtime reads it (the same code, so requests fit the running model). */
	private schema<T>(read: () => T): T {
		const refuse = (error: unknown): never => {
			if (error instanceof TypeError)
				throw new InvalidModelFileError(this.label, error.message);
			throw error;
		};
		try {
			const result = read();
			return (result instanceof Promise ? result.catch(refuse) : result) as T;
		} catch (error) {
			return refuse(error);
		}
	}

	private async load<T>(loader: () => Promise<T>): Promise<T> {
		try {
			return await loader();
		} catch (error) {
			throw new InvalidModelFileError(this.label, `TF.js cannot load it: ${reasonOf(error)}`);
		}
	}
}

async function isGzip(filePath: string): Promise<boolean> {
	const file = await fs.open(filePath, "r");
	try {
		const magic = new Uint8Array(2);
		const { bytesRead } = await file.read(magic, 0, 2, 0);
		return bytesRead === 2 && magic[0] === 0x1f && magic[1] === 0x8b;
	} finally {
		await file.close();
	}
}
