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
import type {
	GraphModel,
	LayersModel,
	ModelTensorInfo,
	SymbolicTensor,
	Tensor,
} from "@tensorflow/tfjs";
import { InvalidModelFileError } from "../errors";
import type { ModelSchema, OipDatatype, TensorSpec } from "../registry/model-schema";
import { isSystemError, reasonOf } from "./import-errors";
import type { ImportedModel, ModelImporter } from "./model-importer";
import { readTarFiles } from "./tar-files";
import { tfjsArtifactsFromFiles } from "./tfjs-artifacts";
import { loadTfjs, type TfModule } from "./tfjs-runtime";

/** TF.js dtypes, and the TensorFlow DT_* names of a signature, → OIP (int64 runs as int32). */
const TF_DTYPE_TO_OIP: Readonly<Record<string, OipDatatype>> = {
	float32: "FP32",
	int32: "INT32",
	bool: "BOOL",
	string: "BYTES",
	DT_FLOAT: "FP32",
	DT_INT32: "INT32",
	DT_INT64: "INT32",
	DT_BOOL: "BOOL",
	DT_STRING: "BYTES",
};

function oipDatatypeOfTfDtype(dtype: string): OipDatatype | undefined {
	return Object.hasOwn(TF_DTYPE_TO_OIP, dtype) ? TF_DTYPE_TO_OIP[dtype] : undefined;
}

/** The TF.js dtype to feed for an OIP datatype (numeric and bool; strings are filled apart). */
const TFJS_DTYPE_OF: Partial<Record<OipDatatype, "float32" | "int32" | "bool">> = {
	FP32: "float32",
	INT32: "int32",
	BOOL: "bool",
};

interface SignatureTensor {
	dtype?: string;
	tensorShape?: { dim?: { size?: string | number }[]; unknownRank?: boolean };
}
interface Signature {
	inputs?: Record<string, SignatureTensor>;
	outputs?: Record<string, SignatureTensor>;
}

/** A tensor whose shape may be unknown until the model has run. */
type GraphTensorSpec = Omit<TensorSpec, "shape"> & { shape?: number[] };

export class TfjsImporter implements ModelImporter {
	readonly format = "tfjs" as const;
	readonly label = "TF.js";

	async import(filePath: string): Promise<ImportedModel> {
		let files: Map<string, Buffer>;
		try {
			files = await readTarFiles(filePath, { gzip: await isGzip(filePath) });
		} catch (error) {
			if (isSystemError(error)) throw error;
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
				return { format: this.format, schema: this.layersSchema(model), details };
			} finally {
				model.dispose();
			}
		}
		const model = await this.load(() => tf.loadGraphModel(handler));
		try {
			const signature = (artifacts.signature ?? {}) as Signature;
			const inputs = model.inputs.map((info, i) =>
				this.graphTensor("input", model.inputNodes[i], info, signature.inputs),
			);
			const outputs = model.outputs.map((info, i) =>
				this.graphTensor("output", model.outputNodes[i], info, signature.outputs),
			);
			if (outputs.some(output => output.shape === undefined)) {
				await this.probeOutputShapes(tf, model, inputs, outputs);
				details.outputShapesFrom = "a run on zeros";
			}
			const schema = { inputs: this.known(inputs), outputs: this.known(outputs) };
			return { format: this.format, schema, details };
		} finally {
			model.dispose();
		}
	}

	private async load<T>(loader: () => Promise<T>): Promise<T> {
		try {
			return await loader();
		} catch (error) {
			throw new InvalidModelFileError(this.label, `TF.js cannot load it: ${reasonOf(error)}`);
		}
	}

	private datatype(kind: string, name: string, dtype: string | undefined): OipDatatype {
		const datatype = dtype === undefined ? undefined : oipDatatypeOfTfDtype(dtype);
		if (datatype === undefined)
			throw new InvalidModelFileError(
				this.label,
				`${kind} '${name}' has dtype ${dtype ?? "(none)"}, which the Open Inference Protocol has no datatype for.`,
			);
		return datatype;
	}

	private layersSchema(model: LayersModel): ModelSchema {
		const spec = (kind: string, tensor: SymbolicTensor): TensorSpec => {
			const name = tensor.sourceLayer.name;
			return {
				name,
				datatype: this.datatype(kind, name, tensor.dtype),
				shape: tensor.shape.map(dim => dim ?? -1),
			};
		};
		return {
			inputs: model.inputs.map(tensor => spec("input", tensor)),
			outputs: model.outputs.map(tensor => spec("output", tensor)),
		};
	}

	/** A graph model's tensor; `shape` stays undefined when neither graph nor signature says. */
	private graphTensor(
		kind: string,
		name: string,
		info: ModelTensorInfo,
		signature: Record<string, SignatureTensor> | undefined,
	): GraphTensorSpec {
		const fromSignature =
			signature !== undefined && Object.hasOwn(signature, name) ? signature[name] : undefined;
		const datatype = this.datatype(kind, name, info.dtype ?? fromSignature?.dtype);
		let shape = info.shape?.map(dim => (dim >= 0 ? dim : -1));
		const tensorShape = fromSignature?.tensorShape;
		if (shape === undefined && tensorShape?.dim !== undefined && !tensorShape.unknownRank)
			shape = tensorShape.dim.map(dim => {
				const size = Number(dim.size ?? -1);
				return Number.isInteger(size) && size >= 0 ? size : -1;
			});
		return shape === undefined ? { name, datatype } : { name, datatype, shape };
	}

	/** Runs the model once on zeros to learn the rank (and fixed sizes) of its outputs. */
	private async probeOutputShapes(
		tf: TfModule,
		model: GraphModel,
		inputs: GraphTensorSpec[],
		outputs: GraphTensorSpec[],
	): Promise<void> {
		const feeds: Record<string, Tensor> = {};
		for (const { name, datatype, shape } of inputs) {
			if (shape === undefined)
				throw new InvalidModelFileError(
					this.label,
					`neither input '${name}' nor some outputs have a shape in model.json, so its schema cannot be read; convert the model with a signature (tensorflowjs_converter from a SavedModel).`,
				);
			const concrete = shape.map(dim => (dim === -1 ? 1 : dim));
			feeds[name] =
				datatype === "BYTES"
					? tf.fill(concrete, "")
					: tf.zeros(concrete, TFJS_DTYPE_OF[datatype] ?? "float32");
		}
		const batchIsDynamic = inputs.some(input => input.shape?.[0] === -1);
		const names = outputs.map(output => output.name);
		let results: Tensor | Tensor[];
		try {
			try {
				results = model.execute(feeds, names);
			} catch (error) {
				// Control flow and dynamic shapes need the async executor; the error says so.
				if (!/executeAsync/.test(reasonOf(error))) throw error;
				results = await model.executeAsync(feeds, names);
			}
		} catch (error) {
			throw new InvalidModelFileError(
				this.label,
				`TF.js cannot run it on zeros to learn its output shapes: ${reasonOf(error)}`,
			);
		} finally {
			tf.dispose(Object.values(feeds));
		}
		const list = Array.isArray(results) ? results : [results];
		list.forEach((tensor, i) => {
			outputs[i].shape ??= tensor.shape.map((dim, d) =>
				d === 0 && batchIsDynamic ? -1 : dim,
			);
		});
		tf.dispose(list);
	}

	private known(tensors: GraphTensorSpec[]): TensorSpec[] {
		return tensors.map(tensor => ({ ...tensor, shape: tensor.shape ?? [] }));
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
