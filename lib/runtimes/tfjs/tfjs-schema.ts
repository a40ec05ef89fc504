/**
 * The schema of a loaded TF.js model, named as the importer (lib/importers/tfjs-importer.ts)
 * names it, so that requests validated against the registered schema fit the running model:
 * a layers model's tensors by their layers, a graph model's by the names `execute` takes
 * (signature keys where model.json has a signature). A graph model's output shapes come from
 * the graph or the signature; without either, from one run on zeros. The importer reads the
 * schema it registers with these same functions; a model they cannot read is refused with a
 * TypeError that says why (each caller turns it into its own error).
 */
import type { GraphModel, LayersModel, ModelTensorInfo, Tensor } from "@tensorflow/tfjs";
import type { TfModule } from "./load-tfjs";
import type { ModelSchema, OipDatatype, TensorSpec } from "../../model-spec/model-schema";
import { executeGraph } from "./tfjs-graph-execution";

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

/** The TF.js dtype each OIP datatype a TF.js model takes is fed as. */
export const TFJS_DTYPE_OF: Partial<Record<OipDatatype, "float32" | "int32" | "bool" | "string">> =
	{ FP32: "float32", INT32: "int32", BOOL: "bool", BYTES: "string" };

/** @param where the tensor, for the message: e.g. "input 'x'" */
export function oipDatatypeOfTfDtype(dtype: string | undefined, where = "a tensor"): OipDatatype {
	const datatype =
		dtype !== undefined && Object.hasOwn(TF_DTYPE_TO_OIP, dtype)
			? TF_DTYPE_TO_OIP[dtype]
			: undefined;
	if (datatype === undefined)
		throw new TypeError(
			`${where} has dtype ${dtype ?? "(none)"}, which the Open Inference Protocol has no datatype for.`,
		);
	return datatype;
}

/** A layers model's inputs and outputs, by layer name. */
export function layersModelSchema(model: LayersModel): ModelSchema {
	const spec = (kind: string, tensor: LayersModel["inputs"][number]): TensorSpec => ({
		name: tensor.sourceLayer.name,
		datatype: oipDatatypeOfTfDtype(tensor.dtype, `${kind} '${tensor.sourceLayer.name}'`),
		shape: tensor.shape.map(dim => dim ?? -1),
	});
	return {
		inputs: model.inputs.map(t => spec("input", t)),
		outputs: model.outputs.map(t => spec("output", t)),
	};
}

interface SignatureTensor {
	dtype?: string;
	tensorShape?: { dim?: { size?: string | number }[]; unknownRank?: boolean };
}
export interface GraphSignature {
	inputs?: Record<string, SignatureTensor>;
	outputs?: Record<string, SignatureTensor>;
}

type GraphTensorSpec = Omit<TensorSpec, "shape"> & { shape?: number[] };

export interface GraphModelSchema {
	schema: ModelSchema;
	/** The output shapes came from one run on zeros (neither graph nor signature had them). */
	probedOutputShapes: boolean;
}

/** A graph model's inputs and outputs; runs it once on zeros when output shapes are unknown. */
export async function graphModelSchema(
	tf: TfModule,
	model: GraphModel,
	signature: GraphSignature,
): Promise<GraphModelSchema> {
	const inputs = model.inputs.map((info, i) =>
		graphTensor("input", model.inputNodes[i], info, signature.inputs),
	);
	const outputs = model.outputs.map((info, i) =>
		graphTensor("output", model.outputNodes[i], info, signature.outputs),
	);
	const probedOutputShapes = outputs.some(output => output.shape === undefined);
	if (probedOutputShapes) await probeOutputShapes(tf, model, inputs, outputs);
	const known = (tensors: GraphTensorSpec[]) =>
		tensors.map(tensor => ({ ...tensor, shape: tensor.shape ?? [] }));
	return { schema: { inputs: known(inputs), outputs: known(outputs) }, probedOutputShapes };
}

function graphTensor(
	kind: string,
	name: string,
	info: ModelTensorInfo,
	signature: Record<string, SignatureTensor> | undefined,
): GraphTensorSpec {
	const fromSignature =
		signature !== undefined && Object.hasOwn(signature, name) ? signature[name] : undefined;
	const datatype = oipDatatypeOfTfDtype(info.dtype ?? fromSignature?.dtype, `${kind} '${name}'`);
	let shape = info.shape?.map(dim => (dim >= 0 ? dim : -1));
	const tensorShape = fromSignature?.tensorShape;
	if (shape === undefined && tensorShape?.dim !== undefined && !tensorShape.unknownRank)
		shape = tensorShape.dim.map(dim => {
			const size = Number(dim.size ?? -1);
			return Number.isInteger(size) && size >= 0 ? size : -1;
		});
	return shape === undefined ? { name, datatype } : { name, datatype, shape };
}

async function probeOutputShapes(
	tf: TfModule,
	model: GraphModel,
	inputs: GraphTensorSpec[],
	outputs: GraphTensorSpec[],
): Promise<void> {
	const zeros = (): Record<string, Tensor> => {
		const feeds: Record<string, Tensor> = {};
		for (const { name, datatype, shape } of inputs) {
			if (shape === undefined)
				throw new TypeError(
					`neither input '${name}' nor some outputs have a shape in model.json, so its schema cannot be read; convert the model with a signature (tensorflowjs_converter from a SavedModel).`,
				);
			const concrete = shape.map(dim => (dim === -1 ? 1 : dim));
			feeds[name] =
				datatype === "BYTES"
					? tf.fill(concrete, "")
					: tf.zeros(concrete, TFJS_DTYPE_OF[datatype] ?? "float32");
		}
		return feeds;
	};
	const names = outputs.map(output => output.name);
	let results: Tensor[];
	try {
		results = await executeGraph(tf, model, zeros, names);
	} catch (error) {
		if (error instanceof TypeError && /have a shape in model\.json/.test(error.message))
			throw error;
		throw new TypeError(
			`TF.js cannot run it on zeros to learn its output shapes: ${error instanceof Error ? error.message : String(error)}`,
		);
	}
	const batchIsDynamic = inputs.some(input => input.shape?.[0] === -1);
	results.forEach((tensor, i) => {
		outputs[i].shape ??= tensor.shape.map((dim, d) => (d === 0 && batchIsDynamic ? -1 : dim));
	});
	tf.dispose(results);
}
