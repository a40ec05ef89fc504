/**
 * A MobileNet-v1-like CNN for the batching benchmark: a 3×3 stride-2 stem, the thirteen
 * depthwise-separable blocks (3×3 depthwise Conv with group = channels, then 1×1 pointwise
 * Conv, each followed by Relu; no BatchNorm), global average pooling and a Gemm to 1000
 * classes with Softmax. Weights come from a seeded PRNG (He-uniform, so activations stay finite).
 */
import {
	onnxAttribute,
	writeOnnxModel,
	type OnnxNode,
	type OnnxTensor,
} from "../../lib/onnx/onnx-writer";
import type { ModelSchema } from "../../lib/registry/model-schema";
import { seededRandom, uniformFloats, type Random } from "../support/prng";

export interface MobilenetShape {
	/** Input height and width. */
	size: number;
	/** MobileNet's width multiplier (alpha): channels are scaled by it. */
	width: number;
	classes: number;
}

/** (pointwise output channels at width 1, depthwise stride) of MobileNet v1's blocks. */
const BLOCKS: readonly (readonly [number, number])[] = [
	[64, 1],
	[128, 2],
	[128, 1],
	[256, 2],
	[256, 1],
	[512, 2],
	[512, 1],
	[512, 1],
	[512, 1],
	[512, 1],
	[512, 1],
	[1024, 2],
	[1024, 1],
];

export function mobilenetSchema(shape: MobilenetShape): ModelSchema {
	return {
		inputs: [{ name: "image", datatype: "FP32", shape: [-1, 3, shape.size, shape.size] }],
		outputs: [{ name: "probabilities", datatype: "FP32", shape: [-1, shape.classes] }],
	};
}

export interface WrittenMobilenet {
	bytes: Uint8Array;
	parameters: number;
}

export function writeBenchMobilenet(shape: MobilenetShape, seed = 7): WrittenMobilenet {
	const random = seededRandom(seed);
	const nodes: OnnxNode[] = [];
	const initializers: OnnxTensor[] = [];
	let parameters = 0;
	const channels = (c: number): number => Math.max(8, Math.round(c * shape.width));

	const conv = (
		input: string,
		inC: number,
		outC: number,
		kernel: number,
		stride: number,
		group: number,
	): string => {
		const i = nodes.length;
		const fanIn = (inC / group) * kernel * kernel;
		const weight = weightTensor(
			random,
			`conv${i}_w`,
			[outC, inC / group, kernel, kernel],
			fanIn,
		);
		const bias: OnnxTensor = { name: `conv${i}_b`, dims: [outC], data: new Float32Array(outC) };
		initializers.push(weight, bias);
		parameters += weight.data.length + outC;
		const pad = (kernel - 1) / 2;
		nodes.push({
			opType: "Conv",
			inputs: [input, weight.name, bias.name],
			outputs: [`conv${i}`],
			attributes: {
				kernel_shape: onnxAttribute.ints([kernel, kernel]),
				strides: onnxAttribute.ints([stride, stride]),
				pads: onnxAttribute.ints([pad, pad, pad, pad]),
				group: onnxAttribute.int(group),
			},
		});
		nodes.push({ opType: "Relu", inputs: [`conv${i}`], outputs: [`relu${i}`] });
		return `relu${i}`;
	};

	let c = channels(32);
	let x = conv("image", 3, c, 3, 2, 1);
	for (const [out, stride] of BLOCKS) {
		x = conv(x, c, c, 3, stride, c);
		const next = channels(out);
		x = conv(x, c, next, 1, 1, 1);
		c = next;
	}
	nodes.push({ opType: "GlobalAveragePool", inputs: [x], outputs: ["pooled"] });
	nodes.push({ opType: "Flatten", inputs: ["pooled"], outputs: ["features"] });
	const fc = weightTensor(random, "fc_w", [shape.classes, c], c);
	const fcBias: OnnxTensor = {
		name: "fc_b",
		dims: [shape.classes],
		data: new Float32Array(shape.classes),
	};
	initializers.push(fc, fcBias);
	parameters += fc.data.length + shape.classes;
	nodes.push({
		opType: "Gemm",
		inputs: ["features", "fc_w", "fc_b"],
		outputs: ["logits"],
		attributes: { transB: onnxAttribute.int(1) },
	});
	nodes.push({
		opType: "Softmax",
		inputs: ["logits"],
		outputs: ["probabilities"],
		attributes: { axis: onnxAttribute.int(-1) },
	});

	const bytes = writeOnnxModel({
		producer: "modelfleet-bench",
		graph: {
			name: "mobilenet_v1_like",
			nodes,
			initializers,
			inputs: [
				{ name: "image", datatype: "FP32", shape: ["batch", 3, shape.size, shape.size] },
			],
			outputs: [{ name: "probabilities", datatype: "FP32", shape: ["batch", shape.classes] }],
		},
	});
	return { bytes, parameters };
}

function weightTensor(random: Random, name: string, dims: number[], fanIn: number): OnnxTensor {
	const bound = Math.sqrt(6 / fanIn);
	const count = dims.reduce((n, d) => n * d, 1);
	return { name, dims, data: uniformFloats(random, count, -bound, bound) };
}
