/**
 * ONNX models: the top level is checked by lib/onnx/onnx-header.ts (a truncated file is named as
 * such), then onnxruntime loads the file, which checks the graph, and its input and output
 * metadata (after its shape inference) give the schema. Symbolic and unknown dimensions become -1.
 */
import type * as Ort from "onnxruntime-node";
import { InvalidModelFileError } from "../errors";
import { oipDatatypeOfOrtType } from "../onnx/onnx-element-types";
import { readOnnxHeader, type OnnxHeader } from "../onnx/onnx-header";
import type { TensorSpec } from "../model-spec/model-schema";
import { isSystemError, reasonOf } from "../files/error-reasons";
import type { ImportedModel, ModelImporter } from "./model-importer";

/**
 * Loading only checks the model: no graph optimisation (it can take seconds on large graphs and
 * runs again when a worker loads the model), one thread, errors only.
 */
const CHECK_SESSION_OPTIONS: Ort.InferenceSession.SessionOptions = {
	graphOptimizationLevel: "disabled",
	executionMode: "sequential",
	intraOpNumThreads: 1,
	interOpNumThreads: 1,
	logSeverityLevel: 3,
};

export class OnnxImporter implements ModelImporter {
	readonly format = "onnx" as const;
	readonly label = "ONNX";

	async import(filePath: string): Promise<ImportedModel> {
		let header: OnnxHeader;
		try {
			header = await readOnnxHeader(filePath);
		} catch (error) {
			if (isSystemError(error)) throw error;
			throw new InvalidModelFileError(this.label, reasonOf(error, filePath));
		}

		// Loaded on first use: a node that never imports ONNX never loads the native addon.
		const ort = await import("onnxruntime-node");
		let session: Ort.InferenceSession;
		try {
			session = await ort.InferenceSession.create(filePath, CHECK_SESSION_OPTIONS);
		} catch (error) {
			throw new InvalidModelFileError(
				this.label,
				`onnxruntime cannot load it: ${reasonOf(error, filePath)}`,
			);
		}
		try {
			const schema = {
				inputs: session.inputMetadata.map(value => this.tensorSpec("input", value)),
				outputs: session.outputMetadata.map(value => this.tensorSpec("output", value)),
			};
			return { format: this.format, schema, details: onnxDetails(header) };
		} finally {
			await session.release();
		}
	}

	private tensorSpec(kind: string, value: Ort.InferenceSession.ValueMetadata): TensorSpec {
		if (!value.isTensor)
			throw new InvalidModelFileError(
				this.label,
				`${kind} '${value.name}' is not a tensor (a sequence or map), and the Open Inference Protocol carries only tensors; ` +
					"export the model without such values (skl2onnx: options={'zipmap': False}).",
			);
		const datatype = oipDatatypeOfOrtType(value.type);
		if (datatype === undefined)
			throw new InvalidModelFileError(
				this.label,
				`${kind} '${value.name}' has element type ${value.type}, which the Open Inference Protocol has no datatype for.`,
			);
		// Symbolic dims ("batch") come as strings; unknown ones as negative numbers.
		const shape = value.shape.map(dim => (typeof dim === "number" && dim >= 0 ? dim : -1));
		return { name: value.name, datatype, shape };
	}
}

function onnxDetails(header: OnnxHeader): Record<string, unknown> {
	const onnxOpset = header.opsetImports.find(o => o.domain === "" || o.domain === "ai.onnx");
	const details: Record<string, unknown> = {
		irVersion: header.irVersion,
		opset: onnxOpset?.version ?? null,
		opsetImports: header.opsetImports.map(o => ({
			domain: o.domain || "ai.onnx",
			version: o.version,
		})),
	};
	if (header.producerName) details.producerName = header.producerName;
	if (header.producerVersion) details.producerVersion = header.producerVersion;
	if (header.domain) details.domain = header.domain;
	if (header.modelVersion !== undefined) details.modelVersion = header.modelVersion;
	return details;
}
