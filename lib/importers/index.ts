/**
 * Model-file importers, one per format, resolved by name, and importModelFile,
 * which sniffs, imports and reconciles a stored file in one call.
 */
export {
	MODEL_IMPORTERS,
	createModelImporters,
	isModelFormat,
	resolveImporter,
} from "./importer-registry";
export { DEFAULT_ARCHIVE_LIMITS, type ArchiveLimits } from "../files/tar-files";
export type { ImportedModel, ModelImporter } from "./model-importer";
export { importModelFile, sniffModelFile, type ImportModelFileOptions } from "./import-model-file";
export { reconcileSchema } from "./schema-reconciler";
export { sniffModelFormat, type SniffInput, type SniffResult } from "./format-sniffer";
