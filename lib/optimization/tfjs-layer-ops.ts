/**
 * Each TF.js layer class the converter can express, as the ONNX nodes that compute the same
 * function at inference (opset 17). Tensors stay in TF.js's layout (NHWC): a 2-D convolution
 * or pooling is wrapped in Transposes to ONNX's NCHW and back, so Flatten and Dense after it
 * see the values in the order TF.js gives them (onnxruntime folds the Transpose pairs).
 *
 * A converter gets its layer, the name of its input tensor and the name its output must have,
 * and adds nodes and initializers through `emit`. The table's keys are the supported classes.
 */
import type { LayersModel } from "@tensorflow/tfjs";
import { InvalidInputError } from "../errors";
import { onnxAttribute, type OnnxNode, type OnnxTensor } from "../onnx/onnx-writer";

export type TfLayer = LayersModel["layers"][number];

export interface LayerEmitter {
	node(node: OnnxNode): void;
	initializer(tensor: OnnxTensor): void;
}

export interface LayerContext {
	layer: TfLayer;
	config: Record<string, unknown>;
	/** Input dims without the batch (null = unknown). */
	inputShape: (number | null)[];
	input: string;
	output: string;
	emit: LayerEmitter;
}

type LayerConverter = (context: LayerContext) => void;

/** TF.js's selu constants (tfjs-core selu_util), as the trainer's export writes them. */
const SELU_SCALE = 1.0507009873554805;
const SELU_SCALE_ALPHA = 1.7580993408473768;

function refuse(layer: TfLayer, reason: string): never {
	throw new InvalidInputError(
		`Layer '${layer.name}' (${layer.getClassName()}) cannot be converted to ONNX: ${reason}.`,
		{ field: "sourceFile", layer: layer.name, className: layer.getClassName() },
	);
}

function weights(layer: TfLayer): Float32Array[] {
	return layer.getWeights().map(w => Float32Array.from(w.dataSync() as Float32Array));
}

/** Nodes one after another from `input` to `output`, intermediate tensors named `prefix/i`. */
function chain(
	emit: LayerEmitter,
	prefix: string,
	input: string,
	output: string,
	steps: { opType: string; inputs?: string[]; attributes?: OnnxNode["attributes"] }[],
): void {
	if (steps.length === 0) {
		emit.node({ opType: "Identity", inputs: [input], outputs: [output], name: prefix });
		return;
	}
	let current = input;
	steps.forEach((step, i) => {
		const out = i === steps.length - 1 ? output : `${prefix}/${step.opType.toLowerCase()}_${i}`;
		emit.node({
			opType: step.opType,
			inputs: [current, ...(step.inputs ?? [])],
			outputs: [out],
			name: `${prefix}/${step.opType.toLowerCase()}_${i}`,
			...(step.attributes ? { attributes: step.attributes } : {}),
		});
		current = out;
	});
}

/** A float scalar initializer (e.g. Clip's bounds). */
function scalar(emit: LayerEmitter, name: string, value: number): string {
	emit.initializer({ name, dims: [], data: Float32Array.of(value) });
	return name;
}

/** The activations TF.js layers name, as ONNX node steps. */
function activationSteps(context: LayerContext, activation: string): Parameters<typeof chain>[4] {
	const { emit, layer } = context;
	switch (activation) {
		case "linear":
			return [];
		case "relu":
			return [{ opType: "Relu" }];
		case "relu6":
			return [
				{
					opType: "Clip",
					inputs: [
						scalar(emit, `${layer.name}/relu6_min`, 0),
						scalar(emit, `${layer.name}/relu6_max`, 6),
					],
				},
			];
		case "elu":
			return [{ opType: "Elu", attributes: { alpha: onnxAttribute.float(1) } }];
		case "selu":
			return [
				{
					opType: "Selu",
					attributes: {
						alpha: onnxAttribute.float(SELU_SCALE_ALPHA / SELU_SCALE),
						gamma: onnxAttribute.float(SELU_SCALE),
					},
				},
			];
		case "sigmoid":
			return [{ opType: "Sigmoid" }];
		case "hardSigmoid":
			return [
				{
					opType: "HardSigmoid",
					attributes: { alpha: onnxAttribute.float(0.2), beta: onnxAttribute.float(0.5) },
				},
			];
		case "tanh":
			return [{ opType: "Tanh" }];
		case "softplus":
			return [{ opType: "Softplus" }];
		case "softsign":
			return [{ opType: "Softsign" }];
		case "softmax":
			return [{ opType: "Softmax", attributes: { axis: onnxAttribute.int(-1) } }];
		case "logSoftmax":
			return [{ opType: "LogSoftmax", attributes: { axis: onnxAttribute.int(-1) } }];
		default:
			return refuse(
				layer,
				`activation '${activation}' has no ONNX form here (supported: ${SUPPORTED_ACTIVATIONS.join(", ")})`,
			);
	}
}

export const SUPPORTED_ACTIVATIONS = [
	"linear",
	"relu",
	"relu6",
	"elu",
	"selu",
	"sigmoid",
	"hardSigmoid",
	"tanh",
	"softplus",
	"softsign",
	"softmax",
	"logSoftmax",
] as const;

/** Applies `activation` from `input` to `output` (an Identity for linear). */
function activate(context: LayerContext, activation: string, input: string): void {
	const { emit, layer, output } = context;
	chain(emit, `${layer.name}/${activation}`, input, output, activationSteps(context, activation));
}

const identity: LayerConverter = ({ emit, layer, input, output }) =>
	chain(emit, layer.name, input, output, []);

function dense(context: LayerContext): void {
	const { emit, layer, config, input, inputShape } = context;
	const [kernel, bias] = weights(layer);
	const units = Number(config.units);
	const inputs = kernel.length / units;
	emit.initializer({ name: `${layer.name}/kernel`, dims: [inputs, units], data: kernel });
	const linear = `${layer.name}/linear`;
	if (bias) emit.initializer({ name: `${layer.name}/bias`, dims: [units], data: bias });
	if (inputShape.length === 1) {
		emit.node({
			opType: "Gemm",
			inputs: [input, `${layer.name}/kernel`, ...(bias ? [`${layer.name}/bias`] : [])],
			outputs: [linear],
			name: `${layer.name}/gemm`,
		});
	} else {
		// Dense on [batch, …, features] applies to the last axis: MatMul broadcasts the same way.
		const product = bias ? `${layer.name}/matmul` : linear;
		emit.node({
			opType: "MatMul",
			inputs: [input, `${layer.name}/kernel`],
			outputs: [product],
			name: `${layer.name}/matmul`,
		});
		if (bias)
			emit.node({
				opType: "Add",
				inputs: [product, `${layer.name}/bias`],
				outputs: [linear],
				name: `${layer.name}/add`,
			});
	}
	activate(context, String(config.activation ?? "linear"), linear);
}

function batchNormalization(context: LayerContext): void {
	const { emit, layer, config, input, output, inputShape } = context;
	const axis = Number(config.axis ?? -1);
	if (axis !== -1 && axis !== inputShape.length)
		refuse(layer, `it normalizes axis ${axis}; only the last (channels) axis is supported`);
	const values = weights(layer);
	const mean = values[values.length - 2];
	const variance = values[values.length - 1];
	const gamma = config.scale !== false ? values[0] : null;
	const beta = config.center !== false ? values[config.scale !== false ? 1 : 0] : null;
	const epsilon = Number(config.epsilon ?? 1e-3);
	// Inference form folded to y = x·scale + shift, per channel, in doubles.
	const scale = mean.map((_, c) => (gamma?.[c] ?? 1) / Math.sqrt(variance[c] + epsilon));
	const shift = mean.map((m, c) => (beta?.[c] ?? 0) - m * scale[c]);
	emit.initializer({ name: `${layer.name}/scale`, dims: [scale.length], data: scale });
	emit.initializer({ name: `${layer.name}/shift`, dims: [shift.length], data: shift });
	chain(emit, layer.name, input, output, [
		{ opType: "Mul", inputs: [`${layer.name}/scale`] },
		{ opType: "Add", inputs: [`${layer.name}/shift`] },
	]);
}

function flatten(context: LayerContext): void {
	const { emit, layer, config, input, output } = context;
	if (config.dataFormat === "channelsFirst" && context.inputShape.length > 1)
		refuse(layer, "dataFormat channelsFirst is not supported");
	chain(emit, layer.name, input, output, [
		{ opType: "Flatten", attributes: { axis: onnxAttribute.int(1) } },
	]);
}

function reshape(context: LayerContext): void {
	const { emit, layer, config, input, output } = context;
	const target = (config.targetShape as number[]).map(d => BigInt(d));
	const shape = `${layer.name}/shape`;
	// 0 keeps the batch dimension as it comes.
	emit.initializer({
		name: shape,
		dims: [target.length + 1],
		data: BigInt64Array.from([0n, ...target]),
	});
	chain(emit, layer.name, input, output, [{ opType: "Reshape", inputs: [shape] }]);
}

function activationLayer(context: LayerContext): void {
	activate(context, String(context.config.activation ?? "linear"), context.input);
}

function reluLayer(context: LayerContext): void {
	const { emit, layer, config, input, output } = context;
	const max = config.maxValue;
	if (max === null || max === undefined)
		return chain(emit, layer.name, input, output, [{ opType: "Relu" }]);
	chain(emit, layer.name, input, output, [
		{
			opType: "Clip",
			inputs: [
				scalar(emit, `${layer.name}/min`, 0),
				scalar(emit, `${layer.name}/max`, Number(max)),
			],
		},
	]);
}

function alphaLayer(opType: "LeakyRelu" | "Elu", defaultAlpha: number): LayerConverter {
	return ({ emit, layer, config, input, output }) =>
		chain(emit, layer.name, input, output, [
			{
				opType,
				attributes: { alpha: onnxAttribute.float(Number(config.alpha ?? defaultAlpha)) },
			},
		]);
}

function softmaxLayer(context: LayerContext): void {
	const { emit, layer, config, input, output } = context;
	const axis = Array.isArray(config.axis) ? config.axis : [config.axis ?? -1];
	if (axis.length !== 1) refuse(layer, "softmax over several axes is not supported");
	chain(emit, layer.name, input, output, [
		{ opType: "Softmax", attributes: { axis: onnxAttribute.int(Number(axis[0])) } },
	]);
}

function pair(value: unknown): [number, number] {
	return Array.isArray(value)
		? [Number(value[0]), Number(value[1])]
		: [Number(value), Number(value)];
}

/** Explicit ONNX pads [top, left, bottom, right] for TF's padding on a known spatial shape. */
function spatialPads(
	context: LayerContext,
	kernel: [number, number],
	strides: [number, number],
	dilations: [number, number],
): number[] {
	const { layer, config, inputShape } = context;
	if (config.padding === "valid") return [0, 0, 0, 0];
	if (config.padding !== "same")
		refuse(layer, `padding '${String(config.padding)}' is not supported`);
	const begin: number[] = [];
	const end: number[] = [];
	for (let i = 0; i < 2; i++) {
		const size = inputShape[i];
		if (size === null) refuse(layer, "'same' padding needs a known height and width");
		const out = Math.ceil(size / strides[i]);
		const total = Math.max(
			(out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - size,
			0,
		);
		begin.push(Math.floor(total / 2));
		end.push(total - Math.floor(total / 2));
	}
	return [...begin, ...end];
}

function checkChannelsLast(context: LayerContext): void {
	const format = context.config.dataFormat;
	if (format !== undefined && format !== "channelsLast")
		refuse(context.layer, `dataFormat ${String(format)} is not supported (channelsLast only)`);
}

/** NHWC → the NCHW op → NHWC, the op's steps in between. */
function inNchw(context: LayerContext, output: string, steps: Parameters<typeof chain>[4]): void {
	const { emit, layer, input } = context;
	chain(emit, layer.name, input, output, [
		{ opType: "Transpose", attributes: { perm: onnxAttribute.ints([0, 3, 1, 2]) } },
		...steps,
		{ opType: "Transpose", attributes: { perm: onnxAttribute.ints([0, 2, 3, 1]) } },
	]);
}

function conv2d(context: LayerContext): void {
	const { emit, layer, config } = context;
	checkChannelsLast(context);
	const [kernel, bias] = weights(layer);
	const [kh, kw] = pair(config.kernelSize);
	const filters = Number(config.filters);
	const channels = kernel.length / (kh * kw * filters);
	// TF.js [kh, kw, in, out] → ONNX [out, in, kh, kw].
	const onnxKernel = new Float32Array(kernel.length);
	for (let y = 0; y < kh; y++)
		for (let x = 0; x < kw; x++)
			for (let c = 0; c < channels; c++)
				for (let f = 0; f < filters; f++)
					onnxKernel[((f * channels + c) * kh + y) * kw + x] =
						kernel[((y * kw + x) * channels + c) * filters + f];
	emit.initializer({
		name: `${layer.name}/kernel`,
		dims: [filters, channels, kh, kw],
		data: onnxKernel,
	});
	if (bias) emit.initializer({ name: `${layer.name}/bias`, dims: [filters], data: bias });
	const strides = pair(config.strides ?? 1);
	const dilations = pair(config.dilationRate ?? 1);
	const linear = `${layer.name}/linear`;
	inNchw(context, linear, [
		{
			opType: "Conv",
			inputs: [`${layer.name}/kernel`, ...(bias ? [`${layer.name}/bias`] : [])],
			attributes: {
				kernel_shape: onnxAttribute.ints([kh, kw]),
				strides: onnxAttribute.ints(strides),
				dilations: onnxAttribute.ints(dilations),
				pads: onnxAttribute.ints(spatialPads(context, [kh, kw], strides, dilations)),
			},
		},
	]);
	activate(context, String(config.activation ?? "linear"), linear);
}

function pooling2d(opType: "MaxPool" | "AveragePool"): LayerConverter {
	return context => {
		const { config } = context;
		checkChannelsLast(context);
		const size = pair(config.poolSize ?? 2);
		const strides = pair(config.strides ?? config.poolSize ?? 2);
		inNchw(context, context.output, [
			{
				opType,
				attributes: {
					kernel_shape: onnxAttribute.ints(size),
					strides: onnxAttribute.ints(strides),
					pads: onnxAttribute.ints(spatialPads(context, size, strides, [1, 1])),
					// TF averages over the cells inside the input only.
					...(opType === "AveragePool"
						? { count_include_pad: onnxAttribute.int(0) }
						: {}),
				},
			},
		]);
	};
}

function globalPooling(opType: "ReduceMean" | "ReduceMax", axes: number[]): LayerConverter {
	return context => {
		checkChannelsLast(context);
		const { emit, layer, input, output } = context;
		chain(emit, layer.name, input, output, [
			{
				opType,
				attributes: { axes: onnxAttribute.ints(axes), keepdims: onnxAttribute.int(0) },
			},
		]);
	};
}

/** The supported layer classes and their converters. */
export const LAYER_CONVERTERS: Readonly<Record<string, LayerConverter>> = {
	Dense: dense,
	Dropout: identity,
	SpatialDropout1D: identity,
	AlphaDropout: identity,
	GaussianDropout: identity,
	GaussianNoise: identity,
	Flatten: flatten,
	Reshape: reshape,
	BatchNormalization: batchNormalization,
	Activation: activationLayer,
	ReLU: reluLayer,
	LeakyReLU: alphaLayer("LeakyRelu", 0.3),
	ELU: alphaLayer("Elu", 1),
	Softmax: softmaxLayer,
	Conv2D: conv2d,
	MaxPooling2D: pooling2d("MaxPool"),
	AveragePooling2D: pooling2d("AveragePool"),
	GlobalAveragePooling2D: globalPooling("ReduceMean", [1, 2]),
	GlobalMaxPooling2D: globalPooling("ReduceMax", [1, 2]),
	GlobalAveragePooling1D: globalPooling("ReduceMean", [1]),
	GlobalMaxPooling1D: globalPooling("ReduceMax", [1]),
};
