/**
 * From the files of a TF.js tar to the ModelArtifacts TF.js loads from memory: finds model.json,
 * checks its weights manifest against the weight files, and lines the weights up in its order.
 */
import * as path from "node:path";
import type { io } from "@tensorflow/tfjs";
import { InvalidModelFileError } from "../../errors";
import { parseClientJson } from "../../json-policy";
import { reasonOf } from "../../files/error-reasons";

const LABEL = "TF.js";

export interface TfjsArtifacts {
	artifacts: io.ModelArtifacts;
	modelType: "layers" | "graph";
	/** Where model.json sits in the tar. */
	modelJsonPath: string;
	weightBytes: number;
	weightFiles: number;
}

/** Bytes per element, by dtype (quantized weights: by their quantization dtype). */
const BYTES_PER_ELEMENT: Readonly<Record<string, number>> = {
	float32: 4,
	int32: 4,
	bool: 1,
	complex64: 8,
	uint8: 1,
	uint16: 2,
	float16: 2,
};

function fail(reason: string): never {
	throw new InvalidModelFileError(LABEL, reason);
}

/** @throws InvalidModelFileError when model.json or a weight file is missing or inconsistent */
export function tfjsArtifactsFromFiles(files: ReadonlyMap<string, Buffer>): TfjsArtifacts {
	const modelJsonPath = findModelJson(files);
	let modelJson: Record<string, unknown>;
	try {
		const parsed: unknown = parseClientJson(files.get(modelJsonPath) ?? Buffer.alloc(0), {
			what: modelJsonPath,
			syntaxError: (_, error) => error,
		});
		if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
			fail(`${modelJsonPath} is not a JSON object`);
		modelJson = parsed as Record<string, unknown>;
	} catch (error) {
		if (error instanceof InvalidModelFileError) throw error;
		fail(`${modelJsonPath} is not valid JSON: ${reasonOf(error)}`);
	}
	const topology = modelJson.modelTopology;
	if (typeof topology !== "object" || topology === null)
		fail(`${modelJsonPath} has no modelTopology`);
	const modelType = modelJson.format === "graph-model" || "node" in topology ? "graph" : "layers";

	const manifest = modelJson.weightsManifest ?? [];
	if (!Array.isArray(manifest)) fail(`${modelJsonPath}: weightsManifest is not a list`);
	const dir = path.posix.dirname(modelJsonPath);
	const weightSpecs: io.WeightsManifestEntry[] = [];
	const weightData: ArrayBuffer[] = [];
	let weightBytes = 0;
	let weightFiles = 0;
	manifest.forEach((group: unknown, g: number) => {
		const where = `weightsManifest[${g}]`;
		const { paths, weights } = (group ?? {}) as { paths?: unknown; weights?: unknown };
		if (!Array.isArray(paths) || paths.some(p => typeof p !== "string"))
			fail(`${where}.paths is not a list of file names`);
		if (!Array.isArray(weights)) fail(`${where}.weights is not a list`);
		let groupBytes = 0;
		for (const name of paths as string[]) {
			const file = files.get(path.posix.join(dir, name).replace(/^\.\//, ""));
			if (file === undefined)
				fail(`model.json names weight file '${name}', which the tar does not hold`);
			weightData.push(exactArrayBuffer(file));
			groupBytes += file.byteLength;
			weightFiles++;
		}
		const needed = groupByteSize(weights as unknown[], where);
		if (needed !== undefined && needed !== groupBytes)
			fail(
				`the weight files of ${where} hold ${groupBytes} bytes but its weights need ${needed} (a file is truncated or does not belong to this model)`,
			);
		weightSpecs.push(...(weights as io.WeightsManifestEntry[]));
		weightBytes += groupBytes;
	});

	const artifacts: io.ModelArtifacts = {
		modelTopology: topology,
		weightSpecs,
		weightData,
		format: typeof modelJson.format === "string" ? modelJson.format : undefined,
		generatedBy: typeof modelJson.generatedBy === "string" ? modelJson.generatedBy : undefined,
		convertedBy: typeof modelJson.convertedBy === "string" ? modelJson.convertedBy : undefined,
	};
	for (const key of ["signature", "userDefinedMetadata", "modelInitializer", "trainingConfig"]) {
		if (modelJson[key] !== undefined)
			(artifacts as Record<string, unknown>)[key] = modelJson[key];
	}
	return { artifacts, modelType, modelJsonPath, weightBytes, weightFiles };
}

function findModelJson(files: ReadonlyMap<string, Buffer>): string {
	const candidates = [...files.keys()].filter(
		name => path.posix.basename(name) === "model.json" && !name.startsWith("__MACOSX/"),
	);
	if (candidates.length === 0) {
		const listed = [...files.keys()].slice(0, 10).join(", ") || "nothing";
		fail(`the tar holds no model.json (it holds: ${listed})`);
	}
	candidates.sort((a, b) => a.split("/").length - b.split("/").length);
	if (
		candidates.length > 1 &&
		candidates[0].split("/").length === candidates[1].split("/").length
	)
		fail(`the tar holds several model.json files: ${candidates.join(", ")}`);
	return candidates[0];
}

/** The bytes a group's weights take; undefined when it holds strings (variable length). */
function groupByteSize(weights: unknown[], where: string): number | undefined {
	let total = 0;
	for (let i = 0; i < weights.length; i++) {
		const spec = weights[i] as Partial<io.WeightsManifestEntry> | null;
		if (
			typeof spec?.name !== "string" ||
			!Array.isArray(spec.shape) ||
			spec.shape.some(d => !Number.isInteger(d) || d < 0) ||
			typeof spec.dtype !== "string"
		)
			fail(`${where}.weights[${i}] is not a weight spec ({ name, shape, dtype })`);
		if (spec.dtype === "string") return undefined;
		const dtype = spec.quantization?.dtype ?? spec.dtype;
		const size = Object.hasOwn(BYTES_PER_ELEMENT, dtype) ? BYTES_PER_ELEMENT[dtype] : undefined;
		if (size === undefined) fail(`${where}.weights[${i}] has unknown dtype '${dtype}'`);
		total += size * spec.shape.reduce((a, b) => a * b, 1);
	}
	return total;
}

/** The buffer's own ArrayBuffer when it spans it whole (large files), else a copy. */
function exactArrayBuffer(buffer: Buffer): ArrayBuffer {
	if (
		buffer.byteOffset === 0 &&
		buffer.byteLength === buffer.buffer.byteLength &&
		buffer.buffer instanceof ArrayBuffer
	)
		return buffer.buffer;
	return buffer.buffer.slice(
		buffer.byteOffset,
		buffer.byteOffset + buffer.byteLength,
	) as ArrayBuffer;
}
