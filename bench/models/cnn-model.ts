/**
 * The CNN of the batching benchmark: a small CIFAR-style classifier of MobileNet's size
 * (3.77 M parameters; MobileNet v1 has 4.2 M, or 2.6 M at width 0.75) whose weights sit in a
 * large dense head, as AlexNet's and VGG's do. Three conv stages (3×3 Conv with padding 1,
 * Relu, 2×2 MaxPool) of 16, 32 and 64 channels take a 32×32 RGB image to 64×4×4; the head
 * (Flatten, Gemm 1024→2048, Relu, Gemm 2048→768, Relu, Gemm 768→100, Softmax) classifies it.
 * One image costs 2.8 M multiply-adds in the convolutions and 3.7 M in the head, whose 15 MB
 * of weights must stream from memory for every run: a batch reads them once for all its
 * images, which is what dynamic batching gains on CPU. Weights come from a seeded PRNG
 * (He-uniform, so activations stay finite).
 */
import {
	onnxAttribute,
	writeOnnxModel,
	type OnnxNode,
	type OnnxTensor,
} from "../../lib/onnx/onnx-writer";
import type { ModelSchema } from "../../lib/model-spec/model-schema";
import { seededRandom, uniformFloats, type Random } from "../support/prng";

export interface CnnShape {
	/** Input height and width. */
	size: number;
	/** Output channels of each conv stage (each halves the height and width). */
	stages: readonly number[];
	/** Widths of the hidden dense layers. */
	dense: readonly number[];
	classes: number;
}

export const BENCH_CNN: CnnShape = {
	size: 32,
	stages: [16, 32, 64],
	dense: [2048, 768],
	classes: 100,
};

export function cnnSchema(shape: CnnShape): ModelSchema {
	return {
		inputs: [{ name: "image", datatype: "FP32", shape: [-1, 3, shape.size, shape.size] }],
		outputs: [{ name: "probabilities", datatype: "FP32", shape: [-1, shape.classes] }],
	};
}

export interface WrittenCnn {
	bytes: Uint8Array;
	parameters: number;
	/** Multiply-adds of one image through the conv stages and through the dense head. */
	convMacs: number;
	denseMacs: number;
}

export function writeBenchCnn(shape: CnnShape, seed = 7): WrittenCnn {
	const random = seededRandom(seed);
	const nodes: OnnxNode[] = [];
	const initializers: OnnxTensor[] = [];
	let parameters = 0;
	let convMacs = 0;
	let denseMacs = 0;
	const weights = (name: string, dims: number[], fanIn: number): string => {
		const tensor = weightTensor(random, name, dims, fanIn);
		initializers.push(tensor);
		parameters += tensor.data.length;
		return name;
	};
	const bias = (name: string, size: number): string => {
		initializers.push({ name, dims: [size], data: new Float32Array(size) });
		parameters += size;
		return name;
	};

	let x = "image";
	let channels = 3;
	let side = shape.size;
	shape.stages.forEach((out, i) => {
		nodes.push(
			{
				opType: "Conv",
				inputs: [
					x,
					weights(`conv${i}_w`, [out, channels, 3, 3], channels * 9),
					bias(`conv${i}_b`, out),
				],
				outputs: [`conv${i}`],
				attributes: {
					kernel_shape: onnxAttribute.ints([3, 3]),
					strides: onnxAttribute.ints([1, 1]),
					pads: onnxAttribute.ints([1, 1, 1, 1]),
				},
			},
			{ opType: "Relu", inputs: [`conv${i}`], outputs: [`relu${i}`] },
			{
				opType: "MaxPool",
				inputs: [`relu${i}`],
				outputs: [`pool${i}`],
				attributes: {
					kernel_shape: onnxAttribute.ints([2, 2]),
					strides: onnxAttribute.ints([2, 2]),
				},
			},
		);
		convMacs += side * side * out * channels * 9;
		x = `pool${i}`;
		channels = out;
		side /= 2;
	});
	nodes.push({ opType: "Flatten", inputs: [x], outputs: ["features"] });
	x = "features";
	let width = channels * side * side;
	const layers = [...shape.dense, shape.classes];
	layers.forEach((out, i) => {
		nodes.push({
			opType: "Gemm",
			inputs: [x, weights(`fc${i}_w`, [out, width], width), bias(`fc${i}_b`, out)],
			outputs: [`fc${i}`],
			attributes: { transB: onnxAttribute.int(1) },
		});
		denseMacs += width * out;
		x = `fc${i}`;
		width = out;
		if (i < layers.length - 1) {
			nodes.push({ opType: "Relu", inputs: [x], outputs: [`fc${i}_relu`] });
			x = `fc${i}_relu`;
		}
	});
	nodes.push({
		opType: "Softmax",
		inputs: [x],
		outputs: ["probabilities"],
		attributes: { axis: onnxAttribute.int(-1) },
	});

	const bytes = writeOnnxModel({
		producer: "modelfleet-bench",
		graph: {
			name: "cifar_dense_head",
			nodes,
			initializers,
			inputs: [
				{ name: "image", datatype: "FP32", shape: ["batch", 3, shape.size, shape.size] },
			],
			outputs: [{ name: "probabilities", datatype: "FP32", shape: ["batch", shape.classes] }],
		},
	});
	return { bytes, parameters, convMacs, denseMacs };
}

function weightTensor(random: Random, name: string, dims: number[], fanIn: number): OnnxTensor {
	const bound = Math.sqrt(6 / fanIn);
	const count = dims.reduce((n, d) => n * d, 1);
	return { name, dims, data: uniformFloats(random, count, -bound, bound) };
}
