import * as fs from "node:fs";
import type { Scope } from "../accounts/access";
import { NotFoundError } from "../errors";
import type { ModelFormat, ModelSchema } from "../model-spec/model-schema";
import type { CreatedVersion, VersionInput, VersionStore } from "./version-store";

/** A version made from an uploaded model file: what `versions.create` takes, minus what the file tells. */
export interface VersionImportInput extends Omit<
	VersionInput,
	"format" | "schema" | "artifact" | "details"
> {
	/** The sha256 of the file, already stored by the artifacts service. */
	artifact: string;
	/** Declared format; sniffed from the bytes when left out. */
	format?: ModelFormat;
	/** The uploaded file's name: helps tell formats apart and refuse pickles by extension. */
	fileName?: string;
	/** A schema to check against the file's own (it may add feature names and ranges). */
	schema?: ModelSchema;
}

export interface VersionImportDeps {
	/**
	 * Passes when the caller's tenant may use the blob; NOT_FOUND (as for an unknown hash)
	 * otherwise. Asked before the file is read, so nothing of another tenant's file is told.
	 */
	requireArtifact(sha256: string): Promise<void>;
	/** A local path of the blob: the store's own file on a control node, else a verified download. */
	localBlobPath(sha256: string): Promise<string | null>;
	/**
	 * Reads the file as a model (lib/importers importModelFile, handed in by the registry
	 * service: the registry does not import the importers, nor they the registry).
	 */
	importModelFile(filePath: string, options: ModelFileHints): Promise<ModelFile>;
}

/** What the upload tells about the file, for the importer to check against its bytes. */
export interface ModelFileHints {
	format?: string;
	fileName?: string;
	schema?: ModelSchema;
}

/** A model file that loaded: its format, the schema it holds, plain-JSON facts about it. */
export interface ModelFile {
	format: ModelFormat;
	schema: ModelSchema;
	details: Record<string, unknown>;
}

/**
 * Reads a stored model file of the caller's tenant as its format, takes the schema from it
 * (checked against a given one), and registers the version pointing at the blob (or answers the
 * one `input.idempotency`'s key made). A file that cannot be read registers nothing; its
 * unreferenced blob is left to artifact GC.
 */
export async function importVersion(
	deps: VersionImportDeps,
	versions: VersionStore,
	scope: Scope,
	model: string,
	input: VersionImportInput,
): Promise<CreatedVersion> {
	// Fail on a missing model before the (possibly long) read of the file.
	await versions.assertModel(scope, model);
	await deps.requireArtifact(input.artifact);
	const filePath = await deps.localBlobPath(input.artifact);
	if (filePath === null) throw new NotFoundError("artifact", input.artifact);
	const { size } = await fs.promises.stat(filePath);
	const imported = await deps.importModelFile(filePath, {
		format: input.format,
		fileName: input.fileName,
		schema: input.schema,
	});
	const { artifact, fileName, ...rest } = input;
	return versions.createOrReplay(scope, model, {
		...rest,
		format: imported.format,
		schema: imported.schema,
		details: { ...imported.details, ...(fileName ? { fileName } : {}) },
		artifact: { sha256: artifact, size },
	});
}
