/**
 * The "prune" recipe: magnitude pruning of a TF.js-trained dense network's kernels to a target
 * sparsity, per layer (magnitude-pruning.ts), then fine-tuning on the dataset the job hands in
 * (the source version's TRAIN split, through the version's own pre-processing pipeline) with
 * the trainer's loop (lib/training/training-loop.ts, in its worker thread) and the masks
 * re-applied after every optimizer step, so pruned weights stay zero.
 *
 * The output keeps the source's format and names: a TF.js layers model (tar) is the source
 * model with its Dense weights replaced (its input, output and Dropout layers as they were); an
 * ONNX model — the trainer's export, a chain of Gemm layers (dense-onnx.ts) — is the source
 * file with its weight initializers replaced. The details say the sparsity each layer reached,
 * which is at least the target.
 *
 *     params: { sparsity: 0.5, epochs: 5, learningRate: 0.005, batchSize: 32, seed: 1 }
 */
import type { LayersModel } from "@tensorflow/tfjs";
import { InvalidInputError, InvalidModelFileError } from "../errors";
import { reasonOf } from "../files/error-reasons";
import { readOnnxModel, type ReadOnnxModel } from "../onnx/onnx-reader";
import { loadTfjs, type TfModule } from "../runtimes/tfjs/load-tfjs";
import { trainInWorker } from "../training/train-in-worker";
import type { TrainedNetwork, TrainRequest } from "../training/training-types";
import { denseNetworkOfOnnx, withDenseWeights } from "./dense-onnx";
import { denseNetworkOfLayersModel } from "./dense-source";
import { layerSparsity, pruneNetwork, type LayerSparsity } from "./magnitude-pruning";
import type { OptimizationRecipe, RecipeDataset, RecipeOutput, RecipeRunInput } from "./recipe";
import { numberParam, paramsObject } from "./recipe-params";
import { layersModelTar, loadLayersModelTar } from "./tfjs-source";

export interface PruneParams {
	/** Fraction of each Dense kernel set to zero, in [0, 1). Default 0.5. */
	sparsity: number;
	/** Fine-tuning epochs after pruning; 0 = none. Default 5. */
	epochs: number;
	/** Adam's learning rate while fine-tuning. Default 0.005 (half the trainer's default). */
	learningRate: number;
	batchSize: number;
	/** Seeds the fine-tuning's shuffling. Default 1. */
	seed: number;
}

export const PRUNE_DEFAULTS: Readonly<PruneParams> = Object.freeze({
	sparsity: 0.5,
	epochs: 5,
	learningRate: 0.005,
	batchSize: 32,
	seed: 1,
});

/** The request's params with their defaults; InvalidInputError naming the wrong field. */
export function validatePruneParams(raw: unknown): PruneParams {
	const params = paramsObject(raw, "prune", Object.keys(PRUNE_DEFAULTS));
	const d = PRUNE_DEFAULTS;
	return {
		sparsity: numberParam(params.sparsity, "sparsity", { min: 0, max: 0.99 }, d.sparsity),
		epochs: numberParam(
			params.epochs,
			"epochs",
			{ min: 0, max: 1000, integer: true },
			d.epochs,
		),
		learningRate: numberParam(
			params.learningRate,
			"learningRate",
			{ min: 1e-6, max: 1 },
			d.learningRate,
		),
		batchSize: numberParam(
			params.batchSize,
			"batchSize",
			{ min: 1, max: 65_536, integer: true },
			d.batchSize,
		),
		seed: numberParam(params.seed, "seed", { min: 0, max: 2 ** 32 - 1, integer: true }, d.seed),
	};
}

/** The trainer's request that fine-tunes `pruned` on `dataset`, masks held. */
export function fineTuneRequest(
	pruned: ReturnType<typeof pruneNetwork>,
	dataset: RecipeDataset,
	params: PruneParams,
): TrainRequest {
	const { network, masks } = pruned;
	if (network.task !== "classification" || dataset.labels === null)
		throw new InvalidInputError(
			"Fine-tuning after pruning needs a classifier (softmax output) and a dataset with class labels; " +
				"give params.epochs 0 to prune without fine-tuning.",
			{ field: "params.epochs" },
		);
	if (dataset.width !== network.inputWidth)
		throw new InvalidInputError(
			`The fine-tuning dataset has ${dataset.width} features per row; the model takes ${network.inputWidth}.`,
			{ field: "dataset" },
		);
	const last = network.layers.length - 1;
	return {
		config: {
			task: "classification",
			outputs: network.layers[last].units,
			layers: network.layers.slice(0, last).map(layer => ({
				units: layer.units,
				activation: layer.activation as Exclude<typeof layer.activation, "softmax">,
				dropout: 0,
			})),
			optimizer: "adam",
			learningRate: params.learningRate,
			epochs: params.epochs,
			batchSize: params.batchSize,
			earlyStopping: null,
			checkpointEvery: 0,
			seed: params.seed,
		},
		train: { x: dataset.features, rows: dataset.rows, width: dataset.width, y: dataset.labels },
		validation: null,
		predict: null,
		resumeFrom: null,
		exportTfjs: false,
		start: { layers: network.layers, kernelMasks: masks },
	};
}

/** Prunes, then fine-tunes in the trainer's worker when epochs > 0. */
async function pruneAndFineTune(
	network: TrainedNetwork,
	input: RecipeRunInput<PruneParams>,
): Promise<TrainedNetwork> {
	const { params } = input;
	const pruned = pruneNetwork(network, params.sparsity);
	if (params.epochs === 0) return pruned.network;
	if (input.dataset === null)
		throw new InvalidInputError("Recipe 'prune' fine-tunes on a dataset; none was given.", {
			field: "dataset",
		});
	const request = fineTuneRequest(pruned, input.dataset, params);
	input.progress(0.05, `pruned to ${params.sparsity}; fine-tuning ${params.epochs} epochs`);
	const result = await trainInWorker(request, {
		signal: input.signal,
		onProgress: p =>
			input.progress(
				0.05 + (0.9 * p.epoch) / p.epochs,
				`fine-tuning epoch ${p.epoch}/${p.epochs}: loss ${p.loss.toFixed(4)}`,
			),
	});
	return result.network;
}

/** The source model with its Dense layers' weights replaced by the network's. */
function setDenseWeights(
	tf: TfModule,
	model: LayersModel,
	layerIndices: number[],
	network: TrainedNetwork,
): void {
	layerIndices.forEach((index, n) => {
		const { kernel, bias, inputs, units } = network.layers[n];
		const tensors = [tf.tensor2d(kernel, [inputs, units]), tf.tensor1d(bias)];
		model.layers[index].setWeights(tensors);
		tf.dispose(tensors);
	});
}

function sparsityNotes(sparsity: LayerSparsity[], layerNames: string[]): string[] {
	return sparsity.map(
		s =>
			`${layerNames[s.layer]}: ${s.zeros} of ${s.weights} kernel weights zero (${(100 * s.sparsity).toFixed(1)} %)`,
	);
}

/** The pruned (and fine-tuned) model in the source's format, with its per-layer sparsity. */
async function prunedFile(
	input: RecipeRunInput<PruneParams>,
): Promise<{ file: Uint8Array; network: TrainedNetwork; names: string[] }> {
	if (input.sourceFormat === "onnx") {
		const model = readSourceOnnx(input.sourceFile);
		const dense = denseNetworkOfOnnx(model);
		const network = await pruneAndFineTune(dense.network, input);
		const names = dense.initializers.map(i => i.kernel);
		return { file: withDenseWeights(model, dense, network), network, names };
	}
	const tf = await loadTfjs();
	const model = await loadLayersModelTar(tf, input.sourceFile);
	try {
		const { network, layerIndices } = denseNetworkOfLayersModel(model);
		const tuned = await pruneAndFineTune(network, input);
		setDenseWeights(tf, model, layerIndices, tuned);
		const names = layerIndices.map(i => model.layers[i].name);
		return { file: await layersModelTar(tf, model), network: tuned, names };
	} finally {
		model.dispose();
	}
}

function readSourceOnnx(bytes: Uint8Array): ReadOnnxModel {
	try {
		return readOnnxModel(bytes);
	} catch (error) {
		throw new InvalidModelFileError("ONNX", reasonOf(error));
	}
}

async function runPrune(input: RecipeRunInput<PruneParams>): Promise<RecipeOutput> {
	const { params } = input;
	input.signal.throwIfAborted();
	const { file, network, names } = await prunedFile(input);
	const sparsity = layerSparsity(network);
	input.progress(1, "pruned");
	return {
		file,
		format: input.sourceFormat,
		notes: [
			`Magnitude-pruned every Dense kernel to ${params.sparsity} sparsity, then fine-tuned ${params.epochs} epochs.`,
			...sparsityNotes(sparsity, names),
		],
		details: {
			targetSparsity: params.sparsity,
			fineTuneEpochs: params.epochs,
			layers: sparsity.map(s => ({ ...s, name: names[s.layer] })),
		},
	};
}

export const pruneRecipe: OptimizationRecipe<PruneParams> = {
	kind: "prune",
	description:
		"Magnitude pruning of Dense kernels to a target sparsity (per layer), fine-tuned on the source's train split.",
	sourceFormats: ["tfjs", "onnx"],
	needsDataset: true,
	validateParams: validatePruneParams,
	run: runPrune,
};
