/**
 * What every model-file importer does (one implementation a format, resolved by
 * name in ./index.ts): read a stored file of its format, check that its runtime can load it,
 * and say what the model takes and gives.
 */
import type { ModelFormat, ModelSchema } from "../model-spec/model-schema";

/** A model file that loaded, with the schema it holds. */
export interface ImportedModel {
	format: ModelFormat;
	/** Inputs and outputs as the file states them (after reconciliation in importModelFile). */
	schema: ModelSchema;
	/** Plain-JSON facts about the file, shown with the version (irVersion, objective, …). */
	details: Record<string, unknown>;
}

export interface ModelImporter {
	readonly format: ModelFormat;
	/** How messages name the format: "ONNX", "TF.js", "XGBoost JSON". */
	readonly label: string;
	/**
	 * Reads the file at `filePath` (the stored blob; it may be large, so it is read in place).
	 * @throws InvalidModelFileError when the file is not a loadable model of this format
	 */
	import(filePath: string): Promise<ImportedModel>;
}
