/**
 * The files of a version, as `GET /api/v1/models/{model}/versions/{version}/files` lists them and
 * `…/files/{path}` serves them: the served model file (the version's artifact, named as it was
 * uploaded when that name is safe, else `model.<ext>`), then each file kept beside it
 * (`details.alternates`: a trained model's TF.js export, `model-tfjs.tar`). Paths are one plain
 * segment: no folders, nothing a path could climb out of.
 */
import type { ModelFormat } from "../model-spec/model-schema";

export interface VersionFile {
	/** The file's name in the version's file list and download route. */
	path: string;
	sha256: string;
	size: number;
	format: ModelFormat | string;
	/** "model": what predictors serve; "alternate": a copy in another format. */
	kind: "model" | "alternate";
}

/** What the file list reads of a version. */
export interface VersionFileSource {
	format: ModelFormat;
	artifact: { sha256: string; size: number } | null;
	details?: Record<string, unknown> | null;
}

const EXTENSIONS: Readonly<Record<string, string>> = {
	onnx: "onnx",
	tfjs: "tar",
	"xgboost-json": "json",
};

/** A name a download route may carry: a plain file name, no dot first. */
export const FILE_PATH_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

function defaultName(format: string, suffix = ""): string {
	return `model${suffix}.${EXTENSIONS[format] ?? "bin"}`;
}

/** The uploaded file's name (details.fileName) when it is a safe one: its last segment. */
function uploadedName(details: Record<string, unknown> | null | undefined): string | null {
	const name = details?.fileName;
	if (typeof name !== "string") return null;
	const base = name.split(/[\\/]/).pop() ?? "";
	return FILE_PATH_PATTERN.test(base) ? base : null;
}

interface Alternate {
	format?: unknown;
	artifact?: { sha256?: unknown; size?: unknown };
}

export function versionFiles(version: VersionFileSource): VersionFile[] {
	const files: VersionFile[] = [];
	const taken = new Set<string>();
	const add = (file: VersionFile): void => {
		let path = file.path;
		for (let n = 2; taken.has(path); n++) path = file.path.replace(/(\.[^.]*)?$/, `-${n}$1`);
		taken.add(path);
		files.push({ ...file, path });
	};
	if (version.artifact) {
		add({
			path: uploadedName(version.details) ?? defaultName(version.format),
			sha256: version.artifact.sha256,
			size: version.artifact.size,
			format: version.format,
			kind: "model",
		});
	}
	const alternates = version.details?.alternates;
	for (const alternate of Array.isArray(alternates) ? (alternates as Alternate[]) : []) {
		const sha256 = alternate?.artifact?.sha256;
		const size = alternate?.artifact?.size;
		if (typeof sha256 !== "string" || typeof size !== "number") continue;
		const format = typeof alternate.format === "string" ? alternate.format : "bin";
		add({
			path: defaultName(format, `-${format.replace(/[^A-Za-z0-9]/g, "")}`),
			sha256,
			size,
			format,
			kind: "alternate",
		});
	}
	return files;
}
