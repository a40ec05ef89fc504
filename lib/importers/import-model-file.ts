/**
 * Import of a stored model file into a version: tell its format from its bytes (or check the
 * declared one against them), refuse pickles, load it with its format's importer and reconcile
 * the schema the file holds with the one the client gave.
 */
import * as fs from "node:fs/promises";
import { Errors } from "moleculer";
import { InvalidModelFileError, UnsafeModelFormatError } from "../errors";
import type { ModelFormat, ModelSchema } from "../model-spec/model-schema";
import {
	SNIFF_HEAD_BYTES,
	sniffModelFormat,
	type SniffInput,
	type SniffResult,
} from "./format-sniffer";
import { isSystemError, reasonOf } from "../files/error-reasons";
import { MODEL_IMPORTERS, resolveImporter } from "./importer-registry";
import type { ImportedModel, ModelImporter } from "./model-importer";
import { reconcileSchema } from "./schema-reconciler";

/** How messages name the file when its format is not known. */
const ANY_FORMAT = "ONNX, TF.js or XGBoost JSON";

export interface ImportModelFileOptions {
	/** The format the client declared; checked against the file's bytes. Default: sniffed. */
	format?: string;
	/** The name it was uploaded under: it helps sniffing (".pkl", ".onnx"). Default: none. */
	fileName?: string;
	/** The schema the client gave, reconciled with the file's (reconcileSchema). Default: none. */
	schema?: ModelSchema;
	/** The importer of each format. Default MODEL_IMPORTERS. */
	importers?: Readonly<Record<ModelFormat, ModelImporter>>;
}

/**
 * @param filePath the stored file, read in place
 * @throws UnsafeModelFormatError for pickles and joblib dumps, whatever format was declared
 * @throws InvalidModelFileError when the file is not a loadable model (of the declared format)
 * @throws SchemaMismatchError when the given schema disagrees with the file's
 * @throws InvalidInputError for an unknown declared format
 */
export async function importModelFile(
	filePath: string,
	options: ImportModelFileOptions = {},
): Promise<ImportedModel> {
	const importers = options.importers ?? MODEL_IMPORTERS;
	const declared =
		options.format === undefined ? undefined : resolveImporter(options.format, importers);
	const sniffed = await sniffModelFile(filePath, options.fileName);
	const importer = chooseImporter(sniffed, declared, importers);

	let imported: ImportedModel;
	try {
		imported = await importer.import(filePath);
	} catch (error) {
		if (error instanceof Errors.MoleculerError || isSystemError(error)) throw error;
		// An importer must not let a parser's own error through; if one does, it is still the file's.
		throw new InvalidModelFileError(importer.label, reasonOf(error, filePath));
	}
	return { ...imported, schema: reconcileSchema(options.schema, imported.schema) };
}

function chooseImporter(
	sniffed: SniffResult,
	declared: ModelImporter | undefined,
	importers: Readonly<Record<ModelFormat, ModelImporter>>,
): ModelImporter {
	if (sniffed.kind === "unsafe") throw new UnsafeModelFormatError(sniffed.detected);
	if (sniffed.kind === "model") {
		if (declared === undefined || declared.format === sniffed.format)
			return importers[sniffed.format];
		throw new InvalidModelFileError(
			declared.label,
			`it looks like ${importers[sniffed.format].label} (${sniffed.evidence}); declare the format '${sniffed.format}' or leave the format out.`,
		);
	}
	// Unrecognised bytes: a declared format's own parser gives the most precise reason.
	if (declared !== undefined && sniffed.reason !== "the file is empty") return declared;
	throw new InvalidModelFileError(declared?.label ?? ANY_FORMAT, sniffed.reason);
}

/** Sniffs a stored file's format from its first bytes, last byte and upload name. */
export async function sniffModelFile(filePath: string, fileName?: string): Promise<SniffResult> {
	return sniffModelFormat(await readSniffInput(filePath, fileName));
}

async function readSniffInput(filePath: string, fileName?: string): Promise<SniffInput> {
	const file = await fs.open(filePath, "r");
	try {
		const { size } = await file.stat();
		const head = new Uint8Array(Math.min(size, SNIFF_HEAD_BYTES));
		await file.read(head, 0, head.byteLength, 0);
		const input: SniffInput = { head };
		if (size > 0) {
			const last = new Uint8Array(1);
			await file.read(last, 0, 1, size - 1);
			input.lastByte = last[0];
		}
		if (fileName !== undefined) input.fileName = fileName;
		return input;
	} finally {
		await file.close();
	}
}
