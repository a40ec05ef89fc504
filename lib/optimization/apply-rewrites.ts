/**
 * Puts rewrites into a graph: each target node is replaced by its rewrite's nodes, in place
 * (so the order stays topological), new initializers are added, and float weights that no node
 * reads any more are dropped.
 */
import type { ReadOnnxModel } from "../onnx/onnx-reader";
import type { OnnxNode } from "../onnx/onnx-writer";
import type { Rewrite } from "./int8-rewrite";

export function applyRewrites(
	model: ReadOnnxModel,
	rewrites: ReadonlyMap<OnnxNode, Rewrite>,
): ReadOnnxModel {
	const nodes = model.graph.nodes.flatMap(node => rewrites.get(node)?.nodes ?? [node]);
	const read = new Set(nodes.flatMap(node => node.inputs));
	const added = [...rewrites.values()].flatMap(rewrite => rewrite.initializers);
	const replaced = new Set([...rewrites.values()].flatMap(rewrite => rewrite.replaced));
	const initializers = [
		...model.graph.initializers.filter(t => !replaced.has(t.name) || read.has(t.name)),
		...added,
	];
	return { ...model, graph: { ...model.graph, nodes, initializers } };
}

/** The ONNX-domain opset of the model (1 when it imports none, which no real model does). */
export function onnxOpset(model: ReadOnnxModel): number {
	return model.opset.find(o => o.domain === "" || o.domain === "ai.onnx")?.version ?? 1;
}
