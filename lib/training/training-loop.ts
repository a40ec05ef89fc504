/**
 * The training loop itself, for whatever thread has TF.js loaded (the training worker; tests
 * may call it directly). Mini-batch gradient descent over a dense network held as TF.js
 * variables, with everything random drawn from the job's seed (initial weights, shuffling,
 * dropout masks), so a seed reproduces a run and a checkpoint resumes it exactly where it was.
 *
 * Per epoch: shuffle, train on each batch, score the validation split, report progress,
 * update early stopping, checkpoint every `checkpointEvery` epochs. At the end: restore the
 * best weights if asked, fold a regression target's scaling into the output layer, build the
 * inference network (softmax on a classifier's output) as a TF.js layers model, and predict
 * the requested rows with it.
 */
import type { Optimizer, Scalar, Tensor, Variable } from "@tensorflow/tfjs";
import { SeededRandom } from "../datasets/seeded-random";
import { InvalidInputError } from "../errors";
import type { TfModule } from "../runtimes/tfjs/load-tfjs";
import {
	decodeCheckpoint,
	encodeCheckpoint,
	type CheckpointState,
	type EarlyStoppingState,
	type OptimizerVariable,
} from "./checkpoint";
import { initialWeights, unscaleOutput } from "./dense-network";
import { layersModel, predictWith, saveLayersModel } from "./tfjs-export";
import type { Activation, Monitor } from "./job-spec";
import type {
	BackendInfo,
	DenseLayerWeights,
	EpochProgress,
	TrainedNetwork,
	TrainingConfig,
	TrainingData,
	TrainRequest,
	TrainResult,
} from "./training-types";

export interface LoopHooks {
	onProgress?(progress: EpochProgress): void;
	onCheckpoint?(epoch: number, bytes: Uint8Array): void;
	/** Checked after every batch; true ends the run with TrainingCancelledError. */
	isCancelled?(): boolean;
}

/** The run was cancelled between two batches; nothing is returned. */
export class TrainingCancelledError extends Error {
	constructor() {
		super("Training was cancelled.");
		this.name = "TrainingCancelledError";
	}
}

/** Rows scored per forward pass when evaluating or predicting. */
const EVAL_BATCH = 4096;

/** The hyperparameters a checkpoint must share with the run that resumes from it. */
export function configFingerprint(config: TrainingConfig, train: TrainingData): string {
	const { task, outputs, layers, optimizer, learningRate, batchSize, seed } = config;
	return JSON.stringify({
		task,
		outputs,
		layers,
		optimizer,
		learningRate,
		batchSize,
		seed,
		inputWidth: train.width,
		trainRows: train.rows,
	});
}

function makeOptimizer(tf: TfModule, config: TrainingConfig): Optimizer {
	switch (config.optimizer) {
		case "sgd":
			return tf.train.sgd(config.learningRate);
		case "adam":
			return tf.train.adam(config.learningRate);
		case "rmsprop":
			return tf.train.rmsprop(config.learningRate);
	}
}

function activate(tf: TfModule, x: Tensor, activation: Activation): Tensor {
	switch (activation) {
		case "relu":
			return tf.relu(x);
		case "tanh":
			return tf.tanh(x);
		case "sigmoid":
			return tf.sigmoid(x);
		case "elu":
			return tf.elu(x);
		case "selu":
			return tf.selu(x);
		case "softplus":
			return tf.softplus(x);
		case "linear":
			return x;
	}
}

/** Minimise loss (val_loss, mae, …) or maximise accuracy. */
function isBetter(monitor: Monitor, value: number, best: number | null, minDelta: number): boolean {
	if (best === null) return true;
	return /accuracy$/.test(monitor) ? value > best + minDelta : value < best - minDelta;
}

function monitored(progress: EpochProgress, monitor: Monitor): number {
	const value = monitor.startsWith("val_")
		? progress.validation?.[monitor]
		: monitor === "loss"
			? progress.loss
			: progress.metrics[monitor];
	if (value === undefined)
		throw new InvalidInputError(`earlyStopping.monitor: this run reports no ${monitor}.`, {
			field: "earlyStopping.monitor",
		});
	return value;
}

/** Builds, trains and finishes one run; see the module comment. */
export async function runTrainingLoop(
	tf: TfModule,
	backend: BackendInfo,
	request: TrainRequest,
	hooks: LoopHooks = {},
): Promise<TrainResult> {
	const { config, train, validation } = request;
	const classification = config.task === "classification";
	const width = train.width;
	const random = new SeededRandom(config.seed);
	const initRandom = random.fork();
	let shuffleRandom = random.fork();
	let dropoutRandom = random.fork();
	const fingerprint = configFingerprint(config, train);

	let targetScale: { mean: number; std: number } | null = null;
	if (!classification) {
		let sum = 0;
		for (let i = 0; i < train.rows; i++) sum += train.y[i];
		const mean = sum / train.rows;
		let squares = 0;
		for (let i = 0; i < train.rows; i++) squares += (train.y[i] - mean) ** 2;
		const std = Math.sqrt(squares / train.rows);
		targetScale = { mean, std: std > 1e-12 ? std : 1 };
	}

	const initial = initialWeights(width, config.layers, config.outputs, initRandom);
	const variables = initial.map(layer => ({
		kernel: tf.tidy(() => tf.variable(tf.tensor2d(layer.kernel, [layer.inputs, layer.units]))),
		bias: tf.tidy(() => tf.variable(tf.tensor1d(layer.bias))),
	}));
	const varList: Variable[] = variables.flatMap(v => [v.kernel, v.bias]);
	const optimizer = makeOptimizer(tf, config);
	try {
		let startEpoch = 0;
		let elapsedBefore = 0;
		let history: EpochProgress[] = [];
		let early: EarlyStoppingState = { best: null, bestEpoch: 0, wait: 0, bestWeights: null };
		let resumedFromEpoch: number | null = null;
		if (request.resumeFrom) {
			const state = decodeCheckpoint(request.resumeFrom);
			if (state.fingerprint !== fingerprint)
				throw new InvalidInputError(
					"The checkpoint belongs to another job: its hyperparameters or data shape differ from this run's.",
					{ field: "checkpoint" },
				);
			if (state.weights.length !== varList.length)
				throw new InvalidInputError("The checkpoint holds another network's weights.", {
					field: "checkpoint",
				});
			tf.tidy(() =>
				varList.forEach((v, i) => v.assign(tf.tensor(state.weights[i], v.shape))),
			);
			if (state.optimizer.length > 0) {
				const named = state.optimizer.map(o => ({
					name: o.name,
					tensor: tf.tensor(o.values, o.shape, o.dtype),
				}));
				// The optimizer makes variables of its own from these.
				await optimizer.setWeights(named);
				tf.dispose(named.map(n => n.tensor));
			}
			shuffleRandom = new SeededRandom(state.random.shuffle);
			dropoutRandom = new SeededRandom(state.random.dropout);
			({ early, history, targetScale } = state);
			startEpoch = resumedFromEpoch = state.epoch;
			elapsedBefore = state.elapsedMs;
		}
		const scale = targetScale ?? { mean: 0, std: 1 };

		const forward = (x: Tensor, training: boolean): Tensor => {
			let h = x;
			variables.forEach((v, i) => {
				h = tf.add(tf.matMul(h, v.kernel), v.bias);
				const layer = config.layers[i];
				if (layer === undefined) return; // the output layer: logits or scaled values
				h = activate(tf, h, layer.activation);
				if (training && layer.dropout > 0)
					h = tf.dropout(h, layer.dropout, undefined, dropoutRandom.nextUint32());
			});
			return h;
		};
		const lossOf = (y: Tensor, out: Tensor): Scalar =>
			classification
				? (tf.losses.softmaxCrossEntropy(y, out) as Scalar)
				: (tf.losses.meanSquaredError(y, out) as Scalar);
		/** Correct predictions (classification) or the sum of absolute errors (regression). */
		const metricSum = (out: Tensor, labels: Tensor, y: Tensor): Scalar =>
			classification
				? tf.sum(tf.equal(tf.argMax(out, 1), labels))
				: tf.sum(tf.abs(tf.sub(out, y)));

		/** x, one-hot or scaled y, and labels for `rows` of `data`. */
		const batchTensors = (data: TrainingData, rows: ArrayLike<number>) => {
			const n = rows.length;
			const x = new Float32Array(n * width);
			for (let j = 0; j < n; j++)
				x.set(data.x.subarray(rows[j] * width, (rows[j] + 1) * width), j * width);
			if (classification) {
				const k = config.outputs;
				const y = new Float32Array(n * k);
				const labels = new Int32Array(n);
				for (let j = 0; j < n; j++) {
					labels[j] = data.y[rows[j]];
					y[j * k + labels[j]] = 1;
				}
				return {
					x: tf.tensor2d(x, [n, width]),
					y: tf.tensor2d(y, [n, k]),
					labels: tf.tensor1d(labels, "int32"),
				};
			}
			const y = new Float32Array(n);
			for (let j = 0; j < n; j++) y[j] = (data.y[rows[j]] - scale.mean) / scale.std;
			const yTensor = tf.tensor2d(y, [n, 1]);
			return { x: tf.tensor2d(x, [n, width]), y: yTensor, labels: yTensor };
		};

		/** Mean loss and metric over a whole split, in inference mode (regression: scaled units). */
		const evaluate = (data: TrainingData): { loss: number; metric: number } => {
			let loss = 0;
			let metric = 0;
			for (let from = 0; from < data.rows; from += EVAL_BATCH) {
				const n = Math.min(EVAL_BATCH, data.rows - from);
				const rows = Uint32Array.from({ length: n }, (_, j) => from + j);
				const batch = batchTensors(data, rows);
				const [l, m] = tf.tidy(() => {
					const out = forward(batch.x, false);
					return [lossOf(batch.y, out).mul(n), metricSum(out, batch.labels, batch.y)];
				});
				loss += l.dataSync()[0] as number;
				metric += m.dataSync()[0] as number;
				tf.dispose([l, m, batch.x, batch.y, batch.labels]);
			}
			return { loss: loss / data.rows, metric: metric / data.rows };
		};

		const metricName = classification ? "accuracy" : "mae";
		/** Scaled loss and metric back to the label's units (regression). */
		const unscale = (loss: number, metric: number) =>
			classification
				? { loss, metric }
				: { loss: loss * scale.std ** 2, metric: metric * scale.std };

		const readVariables = (): Float32Array[] =>
			varList.map(v => Float32Array.from(v.dataSync() as Float32Array));

		const checkpoint = async (epoch: number, elapsedMs: number): Promise<Uint8Array> => {
			const named = await optimizer.getWeights();
			const optimizerState: OptimizerVariable[] = named.map(({ name, tensor }) => ({
				name,
				dtype: tensor.dtype === "int32" ? "int32" : "float32",
				shape: [...tensor.shape],
				values: Float32Array.from(tensor.dataSync() as ArrayLike<number>),
			}));
			// The step count comes first, as a scalar made for this call; the rest are the optimizer's own.
			if (named[0]?.name === "iter") named[0].tensor.dispose();
			const state: CheckpointState = {
				fingerprint,
				epoch,
				elapsedMs,
				random: { shuffle: shuffleRandom.state, dropout: dropoutRandom.state },
				weights: readVariables(),
				optimizer: optimizerState,
				early,
				targetScale,
				history,
			};
			return encodeCheckpoint(state);
		};

		const started = performance.now();
		let stoppedEarly = false;
		let lastEpoch = startEpoch;
		const epochTimes: number[] = [];
		for (let epoch = startEpoch + 1; epoch <= config.epochs; epoch++) {
			const epochStart = performance.now();
			const order = shuffleRandom.permutation(train.rows);
			let lossSum = 0;
			let metricTotal = 0;
			for (let from = 0; from < train.rows; from += config.batchSize) {
				const rows = order.subarray(from, Math.min(from + config.batchSize, train.rows));
				const batch = batchTensors(train, rows);
				let metricTensor: Scalar | undefined;
				const cost = optimizer.minimize(
					() => {
						const out = forward(batch.x, true);
						metricTensor = tf.keep(metricSum(out, batch.labels, batch.y));
						return lossOf(batch.y, out);
					},
					true,
					varList,
				) as Scalar;
				lossSum += (cost.dataSync()[0] as number) * rows.length;
				metricTotal += (metricTensor as Scalar).dataSync()[0] as number;
				tf.dispose([cost, metricTensor as Scalar, batch.x, batch.y, batch.labels]);
				if (hooks.isCancelled?.()) throw new TrainingCancelledError();
			}
			const trained = unscale(lossSum / train.rows, metricTotal / train.rows);
			let scored: Record<string, number> | null = null;
			if (validation && validation.rows > 0) {
				const v = evaluate(validation);
				const u = unscale(v.loss, v.metric);
				scored = { val_loss: u.loss, [`val_${metricName}`]: u.metric };
			}
			const now = performance.now();
			epochTimes.push(now - epochStart);
			const meanEpochMs = epochTimes.reduce((a, b) => a + b, 0) / epochTimes.length;
			const progress: EpochProgress = {
				epoch,
				epochs: config.epochs,
				loss: trained.loss,
				metrics: { [metricName]: trained.metric },
				validation: scored,
				samplesPerSecond: train.rows / ((now - epochStart) / 1000),
				etaMs: meanEpochMs * (config.epochs - epoch),
				elapsedMs: elapsedBefore + (now - started),
				bestEpoch: epoch,
			};
			const stopping = config.earlyStopping;
			if (stopping) {
				const value = monitored(progress, stopping.monitor);
				if (isBetter(stopping.monitor, value, early.best, stopping.minDelta)) {
					early = {
						best: value,
						bestEpoch: epoch,
						wait: 0,
						bestWeights: stopping.restoreBestWeights ? readVariables() : null,
					};
				} else {
					early = { ...early, wait: early.wait + 1 };
				}
				progress.bestEpoch = early.bestEpoch;
			}
			history = [...history, progress];
			lastEpoch = epoch;
			hooks.onProgress?.(progress);
			if (stopping && early.wait > 0 && early.wait >= stopping.patience) stoppedEarly = true;
			if (
				config.checkpointEvery > 0 &&
				epoch % config.checkpointEvery === 0 &&
				hooks.onCheckpoint
			)
				hooks.onCheckpoint(epoch, await checkpoint(epoch, progress.elapsedMs));
			if (stoppedEarly) break;
		}

		let bestEpoch = lastEpoch;
		let restoredBestWeights = false;
		const stopping = config.earlyStopping;
		if (stopping) {
			bestEpoch = early.bestEpoch;
			if (stopping.restoreBestWeights && early.bestWeights && early.bestEpoch !== lastEpoch) {
				const best = early.bestWeights;
				tf.tidy(() => varList.forEach((v, i) => v.assign(tf.tensor(best[i], v.shape))));
				restoredBestWeights = true;
			}
		}
		const network = trainedNetwork(config, width, readVariables(), scale);
		const model = layersModel(tf, network);
		try {
			const predictions = request.predict
				? predictWith(tf, model, network, request.predict.x, request.predict.rows)
				: null;
			const tfjs = request.exportTfjs === false ? null : await saveLayersModel(tf, model);
			return {
				network,
				history,
				epochs: lastEpoch,
				stoppedEarly,
				bestEpoch,
				restoredBestWeights,
				resumedFromEpoch,
				backend,
				predictions,
				trainingMs: elapsedBefore + (performance.now() - started),
				tfjs,
			};
		} finally {
			model.dispose();
		}
	} finally {
		optimizer.dispose();
		tf.dispose(varList);
	}
}

/** The inference network from the trained variables (kernel, bias, kernel, bias, …). */
function trainedNetwork(
	config: TrainingConfig,
	inputWidth: number,
	values: Float32Array[],
	scale: { mean: number; std: number },
): TrainedNetwork {
	const layers: DenseLayerWeights[] = [];
	let inputs = inputWidth;
	for (let i = 0; i < values.length / 2; i++) {
		const hidden = config.layers[i];
		const units = hidden ? hidden.units : config.outputs;
		layers.push({
			inputs,
			units,
			kernel: values[2 * i],
			bias: values[2 * i + 1],
			activation: hidden
				? hidden.activation
				: config.task === "classification"
					? "softmax"
					: "linear",
		});
		inputs = units;
	}
	if (config.task === "regression")
		layers[layers.length - 1] = unscaleOutput(layers[layers.length - 1], scale.mean, scale.std);
	return { task: config.task, inputWidth, layers };
}
