/**
 * Rewrites a float MatMul/Gemm with a constant weight into its INT8 form, in one of two shapes:
 *
 * - "integer" (what onnxruntime's quantize_dynamic writes): the activation is quantized at run
 *   time (DynamicQuantizeLinear, uint8), multiplied by the int8 weight with MatMulInteger, and
 *   the int32 result scaled back to float by the activation scale times the weight's
 *   per-column scale (onnxruntime fuses this into MatMulIntegerToFloat);
 * - "qdq": the weight is stored int8 and dequantized per channel (DequantizeLinear with axis)
 *   in front of the unchanged float node; with `activation` ranges (static quantization) the
 *   activation also goes through QuantizeLinear → DequantizeLinear, the QDQ format that
 *   onnxruntime turns into integer kernels.
 *
 * Either way the file holds the weight as int8: a quarter of its float32 bytes.
 */
import { onnxAttribute, type OnnxNode, type OnnxTensor } from "../onnx/onnx-writer";
import { OnnxElementType } from "../onnx/onnx-element-types";
import type { GraphValues } from "./graph-values";
import { quantizePerChannel, type QuantizableMatMul } from "./quantize-weights";

export type Int8Form = "integer" | "qdq";

/** An activation's uint8 quantization: real = (q − zeroPoint) × scale. */
export interface ActivationRange {
	scale: number;
	zeroPoint: number;
}

/** The uint8 quantization covering [min, max] (widened to hold 0 exactly, as ONNX requires). */
export function activationRange(min: number, max: number): ActivationRange {
	const low = Math.min(0, min);
	const high = Math.max(0, max);
	const scale = high > low ? (high - low) / 255 : 1;
	return { scale, zeroPoint: Math.max(0, Math.min(255, Math.round(-low / scale))) };
}

export interface Rewrite {
	/** Replace the original node with these, in order. */
	nodes: OnnxNode[];
	initializers: OnnxTensor[];
	/** Initializers the rewrite no longer reads (the float weight). */
	replaced: string[];
}

/**
 * The integer (dynamic) form of one MatMul/Gemm.
 * Long because it spells out the six nodes of the form, which read best in one list.
 */
export function integerRewrite(target: QuantizableMatMul, values: GraphValues): Rewrite {
	const { node, k, n } = target;
	// Short value names and no node names: every name is written into the file, and a small
	// model's file is mostly names once its weights are int8.
	const base = values.fresh("i8");
	const { values: quantized, scales } = quantizePerChannel(target.weight, k, n, 1);
	const weight = values.fresh(`${target.weightName}/q`);
	const weightScale = values.fresh(`${target.weightName}/s`);
	const [aq, as, azp, product, productFloat, scale, scaled] = [
		"aq",
		"as",
		"az",
		"y",
		"yf",
		"s",
		"ys",
	].map(suffix => values.fresh(`${base}/${suffix}`));
	const output = node.outputs[0];
	const nodes: OnnxNode[] = [
		{
			opType: "DynamicQuantizeLinear",
			inputs: [target.activation],
			outputs: [aq, as, azp],
			name: "",
		},
		{
			opType: "MatMulInteger",
			inputs: [aq, weight, azp],
			outputs: [product],
			name: "",
		},
		{
			opType: "Cast",
			inputs: [product],
			outputs: [productFloat],
			name: "",
			attributes: { to: onnxAttribute.int(OnnxElementType.FLOAT) },
		},
		{
			opType: "Mul",
			inputs: [as, weightScale],
			outputs: [scale],
			name: "",
		},
	];
	const initializers: OnnxTensor[] = [
		{ name: weight, dims: [k, n], data: quantized },
		{ name: weightScale, dims: [n], data: scales.map(s => s * target.alpha) },
	];
	if (target.bias === null) {
		nodes.push({
			opType: "Mul",
			inputs: [productFloat, scale],
			outputs: [output],
			name: "",
		});
		return { nodes, initializers, replaced: [target.weightName] };
	}
	nodes.push({
		opType: "Mul",
		inputs: [productFloat, scale],
		outputs: [scaled],
		name: "",
	});
	let bias = target.bias.name;
	const biasTensor = values.floatInitializer(bias);
	if (target.bias.beta !== 1 && biasTensor !== undefined) {
		bias = values.fresh(`${bias}_beta`);
		initializers.push({
			name: bias,
			dims: biasTensor.dims,
			data: biasTensor.data.map(v => v * target.bias!.beta),
		});
	}
	nodes.push({
		opType: "Add",
		inputs: [scaled, bias],
		outputs: [output],
		name: "",
	});
	return { nodes, initializers, replaced: [target.weightName] };
}

/**
 * The QDQ form of one MatMul/Gemm: the int8 weight dequantized per channel in front of the
 * original node; with `activation`, a QuantizeLinear → DequantizeLinear pair on its input too
 * (`activationDq` caches those pairs, one per activation however many nodes read it).
 */
export function qdqRewrite(
	target: QuantizableMatMul,
	values: GraphValues,
	activation: ActivationRange | null,
	activationDq: Map<string, string>,
): Rewrite {
	const { node, k, n, transposed } = target;
	const stored = transposed ? { rows: n, columns: k } : { rows: k, columns: n };
	const storedWeight = values.floatInitializer(target.weightName)!.data;
	// Per output channel: a column of [K, N], a row of the transposed [N, K].
	const axis = transposed ? 0 : 1;
	const { values: quantized, scales } = quantizePerChannel(
		storedWeight,
		stored.rows,
		stored.columns,
		axis,
	);
	const weight = values.fresh(`${target.weightName}/q`);
	const weightScale = values.fresh(`${target.weightName}/s`);
	const weightZero = values.fresh(`${target.weightName}/z`);
	const dequantized = values.fresh(`${target.weightName}/dq`);
	const nodes: OnnxNode[] = [
		{
			opType: "DequantizeLinear",
			inputs: [weight, weightScale, weightZero],
			outputs: [dequantized],
			name: values.fresh(`${target.weightName}/dq`),
			attributes: { axis: onnxAttribute.int(axis) },
		},
	];
	const initializers: OnnxTensor[] = [
		{ name: weight, dims: [stored.rows, stored.columns], data: quantized },
		{ name: weightScale, dims: [scales.length], data: scales },
		{ name: weightZero, dims: [scales.length], data: new Int8Array(scales.length) },
	];
	let input = target.activation;
	if (activation !== null) {
		const known = activationDq.get(input);
		if (known !== undefined) input = known;
		else {
			const scale = values.fresh(`${input}/s`);
			const zero = values.fresh(`${input}/z`);
			const q = values.fresh(`${input}/q`);
			const dq = values.fresh(`${input}/dq`);
			initializers.push(
				{ name: scale, dims: [], data: Float32Array.of(activation.scale) },
				{ name: zero, dims: [], data: Uint8Array.of(activation.zeroPoint) },
			);
			nodes.push(
				{
					opType: "QuantizeLinear",
					inputs: [input, scale, zero],
					outputs: [q],
					name: values.fresh(`${input}/q`),
				},
				{
					opType: "DequantizeLinear",
					inputs: [q, scale, zero],
					outputs: [dq],
					name: values.fresh(`${input}/dq`),
				},
			);
			activationDq.set(input, dq);
			input = dq;
		}
	}
	nodes.push({ ...node, inputs: [input, dequantized, ...node.inputs.slice(2)] });
	return { nodes, initializers, replaced: [target.weightName] };
}

/**
 * A Conv's weight stored int8 per output channel (axis 0) and dequantized in front of the
 * float Conv: weight-only, in either form (onnxruntime's ConvInteger would need the input's
 * zero point padded in too; the file size, which is what this buys, is the same).
 */
export function convWeightRewrite(node: OnnxNode, values: GraphValues): Rewrite | null {
	const stored = values.floatInitializer(node.inputs[1] ?? "");
	if (stored === undefined || stored.dims.length < 3) return null;
	const channels = stored.dims[0];
	const perChannel = stored.data.length / channels;
	const { values: quantized, scales } = quantizePerChannel(stored.data, channels, perChannel, 0);
	const weight = values.fresh(`${stored.name}/q`);
	const weightScale = values.fresh(`${stored.name}/s`);
	const weightZero = values.fresh(`${stored.name}/z`);
	const dequantized = values.fresh(`${stored.name}/dq`);
	return {
		nodes: [
			{
				opType: "DequantizeLinear",
				inputs: [weight, weightScale, weightZero],
				outputs: [dequantized],
				name: "",
				attributes: { axis: onnxAttribute.int(0) },
			},
			{ ...node, inputs: [node.inputs[0], dequantized, ...node.inputs.slice(2)] },
		],
		initializers: [
			{ name: weight, dims: stored.dims, data: quantized },
			{ name: weightScale, dims: [channels], data: scales },
			{ name: weightZero, dims: [channels], data: new Int8Array(channels) },
		],
		replaced: [stored.name],
	};
}
