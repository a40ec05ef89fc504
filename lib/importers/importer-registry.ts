/** The importer of each model format, resolved by name: a new format is one new importer. */
import { InvalidInputError } from "../errors";
import { MODEL_FORMATS, type ModelFormat } from "../model-spec/model-schema";
import type { ModelImporter } from "./model-importer";
import { OnnxImporter } from "./onnx-importer";
import type { ArchiveLimits } from "../files/tar-files";
import { TfjsImporter } from "./tfjs-importer";
import { XgboostJsonImporter } from "./xgboost-json-importer";

/** The importer of each format. Each loads its runtime (onnxruntime, TF.js) on first use. */
export const MODEL_IMPORTERS: Readonly<Record<ModelFormat, ModelImporter>> = Object.freeze({
	onnx: new OnnxImporter(),
	tfjs: new TfjsImporter(),
	"xgboost-json": new XgboostJsonImporter(),
});

/** The importers with a node's own settings: how far a TF.js archive may unpack. */
export function createModelImporters(
	options: { archiveLimits?: ArchiveLimits } = {},
): Readonly<Record<ModelFormat, ModelImporter>> {
	return Object.freeze({
		onnx: MODEL_IMPORTERS.onnx,
		tfjs: new TfjsImporter(options.archiveLimits),
		"xgboost-json": MODEL_IMPORTERS["xgboost-json"],
	});
}

export function isModelFormat(name: string): name is ModelFormat {
	return (MODEL_FORMATS as readonly string[]).includes(name);
}

/** @throws InvalidInputError for a format name modelfleet does not know */
export function resolveImporter(
	format: string,
	importers: Readonly<Record<ModelFormat, ModelImporter>> = MODEL_IMPORTERS,
): ModelImporter {
	if (!isModelFormat(format))
		throw new InvalidInputError(
			`Unknown model format '${format}'; it is one of: ${MODEL_FORMATS.join(", ")}.`,
			{ format, allowed: [...MODEL_FORMATS] },
		);
	return importers[format];
}
