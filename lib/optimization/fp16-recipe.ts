/**
 * FP16: float32 weights become float16 and the nodes run in float16 where onnxruntime has a
 * float16 kernel for them (each op type is tried in a one-node session; one that fails stays
 * float32, with Casts around it). Inputs and outputs stay float32 with Casts at the edges
 * (`keepIoTypes`, the default, like onnxconverter-common's keep_io_types), or become float16.
 * Aimed at GPU nodes; on CPU the casts and half arithmetic may cost more than they save.
 */
import * as ort from "onnxruntime-node";
import { readOnnxModel, type ReadOnnxModel } from "../onnx/onnx-reader";
import { onnxAttribute, writeOnnxModel, type OnnxNode } from "../onnx/onnx-writer";
import { OnnxElementType } from "../onnx/onnx-element-types";
import { toFloat16Array } from "./float16";
import { GraphValues } from "./graph-values";
import type { OptimizationRecipe } from "./recipe";
import { booleanParam, paramsObject, stringList } from "./recipe-params";

export interface Fp16Params {
	/** Keep float32 graph inputs and outputs (Casts at the edges). Default true. */
	keepIoTypes: boolean;
	/** Op types to keep in float32 (e.g. ["Softmax"]). */
	keepOps: string[];
}

/** Ops that only move or reinterpret data: never worth a probe, always fine in float16. */
const NODE_PRECISION_FREE = new Set(["Cast", "Constant"]);

export const fp16Recipe: OptimizationRecipe<Fp16Params> = {
	kind: "fp16",
	description: "float32 weights and arithmetic → float16 where onnxruntime supports it",
	sourceFormats: ["onnx"],
	needsDataset: false,
	validateParams(raw) {
		const params = paramsObject(raw, "fp16", ["keepIoTypes", "keepOps"]);
		return {
			keepIoTypes: booleanParam(params.keepIoTypes, "keepIoTypes", true),
			keepOps: stringList(params.keepOps, "keepOps"),
		};
	},
	async run({ sourceFile, params, progress }) {
		const model = readOnnxModel(sourceFile);
		const floats = new GraphValues(model.graph).floatValues();
		progress(0.1, "checking which ops run in float16");
		const candidates = model.graph.nodes.filter(
			node =>
				!NODE_PRECISION_FREE.has(node.opType) &&
				(node.domain ?? "") === "" &&
				!params.keepOps.includes(node.opType) &&
				node.outputs.some(output => floats.has(output)),
		);
		const supported = await float16Kernels(model, candidates, floats);
		const half = new Set(candidates.filter(node => supported.has(node.opType)));
		progress(0.6, "converting");
		const converted = convertToFloat16(model, half, floats, params.keepIoTypes);
		const kept = [...new Set(candidates.filter(n => !half.has(n)).map(n => n.opType))];
		return {
			file: writeOnnxModel(converted),
			format: "onnx",
			notes: [
				`${half.size} of ${model.graph.nodes.length} nodes run in float16`,
				...(kept.length > 0 ? [`kept in float32: ${kept.join(", ")}`] : []),
				params.keepIoTypes
					? "inputs and outputs stay float32"
					: "inputs and outputs are float16",
			],
			details: { float16Nodes: half.size, float32Ops: kept },
		};
	},
};

/** The op types among `nodes` that onnxruntime (this build, CPU) runs in float16. */
async function float16Kernels(
	model: ReadOnnxModel,
	nodes: readonly OnnxNode[],
	floats: ReadonlySet<string>,
): Promise<Set<string>> {
	const supported = new Set<string>();
	const tried = new Set<string>();
	for (const node of nodes) {
		if (tried.has(node.opType)) continue;
		tried.add(node.opType);
		const probe = singleNodeModel(model, node, floats);
		try {
			const session = await ort.InferenceSession.create(probe);
			await session.release();
			supported.add(node.opType);
		} catch {
			// No float16 kernel (or the probe is not a model on its own): the op stays float32.
		}
	}
	return supported;
}

function singleNodeModel(model: ReadOnnxModel, node: OnnxNode, floats: ReadonlySet<string>) {
	const values = new GraphValues(model.graph);
	const initializers = node.inputs
		.map(name => values.initializers.get(name))
		.filter(t => t !== undefined)
		.map(t => (t.data instanceof Float32Array ? { ...t, data: toFloat16Array(t.data) } : t));
	const initialized = new Set(initializers.map(t => t.name));
	const inputs = node.inputs
		.filter(name => name !== "" && !initialized.has(name))
		.map(name => ({
			name,
			datatype: floats.has(name) ? ("FP16" as const) : ("INT64" as const),
			shape: null,
		}));
	return writeOnnxModel({
		opset: model.opset,
		graph: {
			nodes: [node],
			initializers,
			inputs,
			outputs: node.outputs
				.filter(name => name !== "")
				.map(name => ({ name, datatype: "FP16" as const, shape: null })),
		},
	});
}

/** Long because it walks every node once and rewires its inputs and the graph's edges. */
function convertToFloat16(
	model: ReadOnnxModel,
	half: ReadonlySet<OnnxNode>,
	floats: ReadonlySet<string>,
	keepIoTypes: boolean,
): ReadOnnxModel {
	const values = new GraphValues(model.graph);
	const graph = model.graph;
	// Which values are float16 once converted: outputs of float16 nodes, initializers that only
	// float16 nodes read, and the graph's float inputs when they become float16 too.
	const halfValues = new Set<string>();
	const readers = new Map<string, OnnxNode[]>();
	for (const node of graph.nodes)
		for (const input of node.inputs) readers.set(input, [...(readers.get(input) ?? []), node]);
	for (const tensor of graph.initializers)
		if (
			tensor.data instanceof Float32Array &&
			(readers.get(tensor.name) ?? []).every(n => half.has(n))
		)
			halfValues.add(tensor.name);
	for (const node of half)
		for (const output of node.outputs) if (floats.has(output)) halfValues.add(output);
	if (!keepIoTypes)
		for (const input of graph.inputs) if (input.datatype === "FP32") halfValues.add(input.name);

	const nodes: OnnxNode[] = [];
	const casts = new Map<string, string>();
	const castTo = (value: string, toHalf: boolean): string => {
		const key = `${value}→${toHalf ? 16 : 32}`;
		const known = casts.get(key);
		if (known !== undefined) return known;
		const output = values.fresh(`${value}_${toHalf ? "fp16" : "fp32"}`);
		nodes.push({
			opType: "Cast",
			inputs: [value],
			outputs: [output],
			name: values.fresh(`Cast_${output}`),
			attributes: {
				to: onnxAttribute.int(toHalf ? OnnxElementType.FLOAT16 : OnnxElementType.FLOAT),
			},
		});
		casts.set(key, output);
		return output;
	};
	// Graph outputs keep their names: a float16 value that must leave as float32 (or the other
	// way round) is renamed inside, and a Cast writes the output's name.
	const outputNames = new Set(graph.outputs.map(o => o.name));
	const wantHalfOut = !keepIoTypes;
	const renamed = new Map<string, string>();
	for (const output of graph.outputs)
		if (floats.has(output.name) && halfValues.has(output.name) !== wantHalfOut)
			renamed.set(output.name, values.fresh(`${output.name}_inner`));
	const inner = (name: string) => renamed.get(name) ?? name;

	for (const node of graph.nodes) {
		const nodeIsHalf = half.has(node);
		const inputs = node.inputs.map(input => {
			if (!floats.has(input) || NODE_PRECISION_FREE.has(node.opType)) return inner(input);
			const isHalf = halfValues.has(input);
			return isHalf === nodeIsHalf ? inner(input) : castTo(inner(input), nodeIsHalf);
		});
		nodes.push({ ...node, inputs, outputs: node.outputs.map(inner) });
	}
	for (const [output, innerName] of renamed) {
		nodes.push({
			opType: "Cast",
			inputs: [innerName],
			outputs: [output],
			name: values.fresh(`Cast_${output}`),
			attributes: {
				to: onnxAttribute.int(
					wantHalfOut ? OnnxElementType.FLOAT16 : OnnxElementType.FLOAT,
				),
			},
		});
	}
	return {
		...model,
		graph: {
			...graph,
			nodes,
			initializers: graph.initializers.map(t =>
				halfValues.has(t.name) && t.data instanceof Float32Array
					? { ...t, data: toFloat16Array(t.data) }
					: t,
			),
			inputs: graph.inputs.map(i =>
				halfValues.has(i.name) ? { ...i, datatype: "FP16" } : i,
			),
			outputs: graph.outputs.map(o =>
				floats.has(o.name) && outputNames.has(o.name)
					? { ...o, datatype: wantHalfOut ? "FP16" : "FP32" }
					: o,
			),
		},
	};
}
