/**
 * Symmetric INT8 quantization of a weight matrix, one scale per output channel (as onnxruntime's
 * quantize_dynamic with per_channel=True): q = round(w / scale), scale = max|w| / 127 of the
 * channel, zero point 0, values in [-127, 127] so that negation stays exact.
 */
import type { OnnxTensor } from "../onnx/onnx-writer";
import { GraphValues } from "./graph-values";
import type { ReadOnnxModel } from "../onnx/onnx-reader";
import type { OnnxNode } from "../onnx/onnx-writer";

export interface QuantizedMatrix {
	/** [rows, columns] as given, row-major. */
	values: Int8Array;
	/** One per channel (column when `axis` is 1, row when 0). */
	scales: Float32Array;
}

/** Quantizes a [rows, columns] matrix per channel along `axis` (1: per column, 0: per row). */
export function quantizePerChannel(
	weights: Float32Array,
	rows: number,
	columns: number,
	axis: 0 | 1,
): QuantizedMatrix {
	const channels = axis === 1 ? columns : rows;
	const maxAbs = new Float32Array(channels);
	for (let r = 0; r < rows; r++)
		for (let c = 0; c < columns; c++) {
			const channel = axis === 1 ? c : r;
			maxAbs[channel] = Math.max(maxAbs[channel], Math.abs(weights[r * columns + c]));
		}
	// An all-zero channel quantizes to zeros with any scale; 1 keeps the scale finite.
	const scales = maxAbs.map(m => (m > 0 ? m / 127 : 1));
	const values = new Int8Array(weights.length);
	for (let r = 0; r < rows; r++)
		for (let c = 0; c < columns; c++) {
			const scale = scales[axis === 1 ? c : r];
			const q = Math.round(weights[r * columns + c] / scale);
			values[r * columns + c] = Math.max(-127, Math.min(127, q));
		}
	return { values, scales };
}

/** [rows, columns] → [columns, rows]. */
export function transpose(matrix: Float32Array, rows: number, columns: number): Float32Array {
	const out = new Float32Array(matrix.length);
	for (let r = 0; r < rows; r++)
		for (let c = 0; c < columns; c++) out[c * rows + r] = matrix[r * columns + c];
	return out;
}

/** A MatMul or Gemm whose weight is a 2-D float initializer, as [K, N] × per-column scales. */
export interface QuantizableMatMul {
	node: OnnxNode;
	/** The activation input (A). */
	activation: string;
	/** The weight as [K, N] (transposed from Gemm's transB layout when needed). */
	weight: Float32Array;
	k: number;
	n: number;
	/** The weight initializer, as it is stored. */
	weightName: string;
	/** Gemm's transB: the stored weight is [N, K]. */
	transposed: boolean;
	/** Gemm's alpha (1 for MatMul). */
	alpha: number;
	/** Gemm's bias input and beta; null for MatMul or a Gemm without C. */
	bias: { name: string; beta: number } | null;
}

/**
 * The nodes a weight quantization can take: MatMul with a 2-D float initializer as B, Gemm with
 * one as B and no transA. Others (activations times activations, transA) stay float.
 */
export function quantizableMatMuls(
	model: ReadOnnxModel,
	values: GraphValues,
	ops: readonly string[],
): QuantizableMatMul[] {
	const found: QuantizableMatMul[] = [];
	for (const node of model.graph.nodes) {
		if (!ops.includes(node.opType) || (node.domain ?? "") !== "") continue;
		const weight = values.floatInitializer(node.inputs[1] ?? "");
		if (weight === undefined || weight.dims.length !== 2) continue;
		const attribute = (name: string, fallback: number) => {
			const a = node.attributes?.[name];
			return a && (a.type === "int" || a.type === "float") ? Number(a.value) : fallback;
		};
		if (node.opType === "Gemm" && attribute("transA", 0) !== 0) continue;
		const transposed = node.opType === "Gemm" && attribute("transB", 0) !== 0;
		const [rows, columns] = weight.dims;
		found.push({
			node,
			activation: node.inputs[0],
			weight: transposed ? transpose(weight.data, rows, columns) : weight.data,
			k: transposed ? columns : rows,
			n: transposed ? rows : columns,
			weightName: weight.name,
			transposed,
			alpha: node.opType === "Gemm" ? attribute("alpha", 1) : 1,
			bias:
				node.opType === "Gemm" && (node.inputs[2] ?? "") !== ""
					? { name: node.inputs[2], beta: attribute("beta", 1) }
					: null,
		});
	}
	return found;
}

/** A float32 initializer. */
export function floatTensor(name: string, dims: number[], data: Float32Array): OnnxTensor {
	return { name, dims, data };
}
