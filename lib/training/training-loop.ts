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
 *
 * A run may start from given weights instead of the seed's (`request.start`: fine-tuning a
 * pruned network), with kernel masks multiplied in after every optimizer step so that masked
 * weights stay exactly zero.
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
import { contribution, rankSeed, readReduced, shardRange } from "./data-parallel";
import { initialWeights, unscaleOutput } from "./dense-network";
import { layersModel, predictWith, saveLayersModel } from "./tfjs-export";
import type { Activation, Monitor } from "./job-spec";
import type {
	BackendInfo,
	CommunicationCost,
	DenseLayerWeights,
	EpochProgress,
	TrainedNetwork,
	TrainingConfig,
	TrainingData,
	TrainingStart,
	TrainRequest,
	TrainResult,
} from "./training-types";

export interface LoopHooks {
	onProgress?(progress: EpochProgress): void;
	onCheckpoint?(epoch: number, bytes: Uint8Array): void;
	/** Checked after every batch; true ends the run with TrainingCancelledError. */
	isCancelled?(): boolean;
	/**
	 * Data-parallel runs (request.parallel with size > 1): exchanges this rank's contribution
	 * for the step (data-parallel.ts) for the reduced vector of every rank's. Rejects when a
	 * rank is gone; the run then fails.
	 */
	exchange?(step: number, vector: Float32Array): Promise<Float32Array>;
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

type TargetScale = { mean: number; std: number };

/** A regression target's mean and spread, so the network learns it in standard units. */
function regressionTargetScale(train: TrainingData): TargetScale {
	let sum = 0;
	for (let i = 0; i < train.rows; i++) sum += train.y[i];
	const mean = sum / train.rows;
	let squares = 0;
	for (let i = 0; i < train.rows; i++) squares += (train.y[i] - mean) ** 2;
	const std = Math.sqrt(squares / train.rows);
	return { mean, std: std > 1e-12 ? std : 1 };
}

/** What a run carries from epoch to epoch, and what a checkpoint saves and restores. */
interface LoopState {
	startEpoch: number;
	elapsedBefore: number;
	history: EpochProgress[];
	early: EarlyStoppingState;
	resumedFromEpoch: number | null;
	targetScale: TargetScale | null;
	shuffleRandom: SeededRandom;
	dropoutRandom: SeededRandom;
}

interface LayerVariables {
	kernel: Variable;
	bias: Variable;
}

/** The network's variables, initialised from the job's seed or from `start`. */
function createVariables(
	tf: TfModule,
	config: TrainingConfig,
	width: number,
	initRandom: SeededRandom,
	start: TrainingStart | null,
	scale: TargetScale | null,
): LayerVariables[] {
	const initial = initialWeights(width, config.layers, config.outputs, initRandom);
	const values = start ? startWeights(initial, start, scale) : initial;
	return values.map(layer => ({
		kernel: tf.tidy(() => tf.variable(tf.tensor2d(layer.kernel, [layer.inputs, layer.units]))),
		bias: tf.tidy(() => tf.variable(tf.tensor1d(layer.bias))),
	}));
}

/**
 * The start weights in the shapes the seed would give, a regression output layer back in
 * standard units (the inverse of unscaleOutput); an InvalidInputError when they do not fit.
 */
function startWeights(
	shapes: DenseLayerWeights[],
	start: TrainingStart,
	scale: TargetScale | null,
): DenseLayerWeights[] {
	const fits =
		start.layers.length === shapes.length &&
		start.layers.every(
			(layer, i) =>
				layer.kernel.length === shapes[i].kernel.length &&
				layer.bias.length === shapes[i].bias.length &&
				(start.kernelMasks?.[i] ?? layer.kernel).length === layer.kernel.length,
		);
	if (!fits)
		throw new InvalidInputError(
			"The start weights do not fit the network: their layers' sizes differ from the run's.",
			{ field: "start" },
		);
	const last = shapes.length - 1;
	return shapes.map((shape, i) => {
		const { kernel, bias } = start.layers[i];
		if (i < last || scale === null) return { ...shape, kernel, bias };
		return {
			...shape,
			kernel: kernel.map(w => w / scale.std),
			bias: bias.map(b => (b - scale.mean) / scale.std),
		};
	});
}

/** The kernel masks as tensors (null where a layer has none), to multiply after each step. */
function maskTensors(tf: TfModule, variables: LayerVariables[], start: TrainingStart | null) {
	return variables.map((v, i) => {
		const mask = start?.kernelMasks?.[i];
		return mask ? tf.tensor(Float32Array.from(mask), v.kernel.shape) : null;
	});
}

/** Loads a checkpoint's weights, optimizer slots, random streams and history into the run. */
async function resumeFromCheckpoint(
	tf: TfModule,
	bytes: Uint8Array,
	fingerprint: string,
	varList: Variable[],
	optimizer: Optimizer,
	run: LoopState,
): Promise<void> {
	const state = decodeCheckpoint(bytes);
	if (state.fingerprint !== fingerprint)
		throw new InvalidInputError(
			"The checkpoint belongs to another job: its hyperparameters or data shape differ from this run's.",
			{ field: "checkpoint" },
		);
	if (state.weights.length !== varList.length)
		throw new InvalidInputError("The checkpoint holds another network's weights.", {
			field: "checkpoint",
		});
	tf.tidy(() => varList.forEach((v, i) => v.assign(tf.tensor(state.weights[i], v.shape))));
	if (state.optimizer.length > 0) {
		const named = state.optimizer.map(o => ({
			name: o.name,
			tensor: tf.tensor(o.values, o.shape, o.dtype),
		}));
		// The optimizer makes variables of its own from these.
		await optimizer.setWeights(named);
		tf.dispose(named.map(n => n.tensor));
	}
	run.shuffleRandom = new SeededRandom(state.random.shuffle);
	run.dropoutRandom = new SeededRandom(state.random.dropout);
	run.early = state.early;
	run.history = state.history;
	run.targetScale = state.targetScale;
	run.startEpoch = run.resumedFromEpoch = state.epoch;
	run.elapsedBefore = state.elapsedMs;
}

/** The dense network's forward pass, loss, metric and batching over its TF.js variables. */
class DenseNet {
	readonly classification: boolean;
	readonly metricName: string;
	readonly varList: Variable[];

	constructor(
		private readonly tf: TfModule,
		private readonly config: TrainingConfig,
		private readonly variables: LayerVariables[],
		private readonly width: number,
		private readonly dropoutRandom: SeededRandom,
		readonly scale: TargetScale,
		/** Data-parallel: this replica's rank, which salts its dropout masks (rank 0: none). */
		private readonly rank = 0,
		private readonly masks: (Tensor | null)[] = [],
	) {
		this.classification = config.task === "classification";
		this.metricName = this.classification ? "accuracy" : "mae";
		this.varList = variables.flatMap(v => [v.kernel, v.bias]);
		this.applyMasks();
	}

	/** Zeroes the masked kernel weights again (after an optimizer step moved them). */
	applyMasks(): void {
		const tf = this.tf;
		this.masks.forEach((mask, i) => {
			if (!mask) return;
			const kernel = this.variables[i].kernel;
			tf.tidy(() => kernel.assign(tf.mul(kernel, mask)));
		});
	}

	forward(x: Tensor, training: boolean): Tensor {
		const { tf, config, dropoutRandom } = this;
		let h = x;
		this.variables.forEach((v, i) => {
			h = tf.add(tf.matMul(h, v.kernel), v.bias);
			const layer = config.layers[i];
			if (layer === undefined) return; // the output layer: logits or scaled values
			h = activate(tf, h, layer.activation);
			if (training && layer.dropout > 0)
				h = tf.dropout(
					h,
					layer.dropout,
					undefined,
					rankSeed(dropoutRandom.nextUint32(), this.rank),
				);
		});
		return h;
	}

	/** Draws what a training forward pass draws, for a rank with no rows this step. */
	skipDropout(): void {
		for (const layer of this.config.layers)
			if (layer.dropout > 0) this.dropoutRandom.nextUint32();
	}

	lossOf(y: Tensor, out: Tensor): Scalar {
		return this.classification
			? (this.tf.losses.softmaxCrossEntropy(y, out) as Scalar)
			: (this.tf.losses.meanSquaredError(y, out) as Scalar);
	}

	/** Correct predictions (classification) or the sum of absolute errors (regression). */
	metricSum(out: Tensor, labels: Tensor, y: Tensor): Scalar {
		const tf = this.tf;
		return this.classification
			? tf.sum(tf.equal(tf.argMax(out, 1), labels))
			: tf.sum(tf.abs(tf.sub(out, y)));
	}

	/** x, one-hot or scaled y, and labels for `rows` of `data`. */
	batchTensors(data: TrainingData, rows: ArrayLike<number>) {
		const { tf, width, scale } = this;
		const n = rows.length;
		const x = new Float32Array(n * width);
		for (let j = 0; j < n; j++)
			x.set(data.x.subarray(rows[j] * width, (rows[j] + 1) * width), j * width);
		if (this.classification) {
			const k = this.config.outputs;
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
	}

	/** Mean loss and metric over a whole split, in inference mode (regression: scaled units). */
	evaluate(data: TrainingData): { loss: number; metric: number } {
		const tf = this.tf;
		let loss = 0;
		let metric = 0;
		for (let from = 0; from < data.rows; from += EVAL_BATCH) {
			const n = Math.min(EVAL_BATCH, data.rows - from);
			const rows = Uint32Array.from({ length: n }, (_, j) => from + j);
			const batch = this.batchTensors(data, rows);
			const [l, m] = tf.tidy(() => {
				const out = this.forward(batch.x, false);
				return [
					this.lossOf(batch.y, out).mul(n),
					this.metricSum(out, batch.labels, batch.y),
				];
			});
			loss += l.dataSync()[0] as number;
			metric += m.dataSync()[0] as number;
			tf.dispose([l, m, batch.x, batch.y, batch.labels]);
		}
		return { loss: loss / data.rows, metric: metric / data.rows };
	}

	/** Scaled loss and metric back to the label's units (regression). */
	unscale(loss: number, metric: number): { loss: number; metric: number } {
		return this.classification
			? { loss, metric }
			: { loss: loss * this.scale.std ** 2, metric: metric * this.scale.std };
	}

	readVariables(): Float32Array[] {
		return this.varList.map(v => Float32Array.from(v.dataSync() as Float32Array));
	}

	assignVariables(values: Float32Array[]): void {
		const tf = this.tf;
		tf.tidy(() => this.varList.forEach((v, i) => v.assign(tf.tensor(values[i], v.shape))));
	}
}

/** Everything one run's phases share. */
interface Run {
	tf: TfModule;
	request: TrainRequest;
	hooks: LoopHooks;
	optimizer: Optimizer;
	fingerprint: string;
	state: LoopState;
	net: DenseNet;
	/** Data-parallel steps taken in this run (every rank counts the same). */
	step: number;
}

/** The run's whole state as checkpoint bytes. */
async function checkpointBytes(run: Run, epoch: number, elapsedMs: number): Promise<Uint8Array> {
	const { state } = run;
	const named = await run.optimizer.getWeights();
	const optimizerState: OptimizerVariable[] = named.map(({ name, tensor }) => ({
		name,
		dtype: tensor.dtype === "int32" ? "int32" : "float32",
		shape: [...tensor.shape],
		values: Float32Array.from(tensor.dataSync() as ArrayLike<number>),
	}));
	// The step count comes first, as a scalar made for this call; the rest are the optimizer's own.
	if (named[0]?.name === "iter") named[0].tensor.dispose();
	const checkpoint: CheckpointState = {
		fingerprint: run.fingerprint,
		epoch,
		elapsedMs,
		random: { shuffle: state.shuffleRandom.state, dropout: state.dropoutRandom.state },
		weights: run.net.readVariables(),
		optimizer: optimizerState,
		early: state.early,
		targetScale: state.targetScale,
		history: state.history,
	};
	return encodeCheckpoint(checkpoint);
}

/** One pass over the shuffled training rows; the mean loss and metric in the label's units. */
function trainOneEpoch(run: Run): { loss: number; metric: number } {
	const { tf, net, optimizer, hooks } = run;
	const { config, train } = run.request;
	const order = run.state.shuffleRandom.permutation(train.rows);
	let lossSum = 0;
	let metricTotal = 0;
	for (let from = 0; from < train.rows; from += config.batchSize) {
		const rows = order.subarray(from, Math.min(from + config.batchSize, train.rows));
		const batch = net.batchTensors(train, rows);
		let metricTensor: Scalar | undefined;
		const cost = optimizer.minimize(
			() => {
				const out = net.forward(batch.x, true);
				metricTensor = tf.keep(net.metricSum(out, batch.labels, batch.y));
				return net.lossOf(batch.y, out);
			},
			true,
			net.varList,
		) as Scalar;
		net.applyMasks();
		lossSum += (cost.dataSync()[0] as number) * rows.length;
		metricTotal += (metricTensor as Scalar).dataSync()[0] as number;
		tf.dispose([cost, metricTensor as Scalar, batch.x, batch.y, batch.labels]);
		if (hooks.isCancelled?.()) throw new TrainingCancelledError();
	}
	return net.unscale(lossSum / train.rows, metricTotal / train.rows);
}

/** This rank's contribution for the rows of its shard (zero gradients for none). */
function shardContribution(run: Run, shard: Uint32Array): Float32Array {
	const { tf, net } = run;
	if (shard.length === 0) {
		net.skipDropout();
		return contribution(
			net.varList.map(v => new Float32Array(v.size)),
			0,
			0,
			0,
		);
	}
	const batch = net.batchTensors(run.request.train, shard);
	let metricTensor: Scalar | undefined;
	const { value, grads } = tf.variableGrads(() => {
		const out = net.forward(batch.x, true);
		metricTensor = tf.keep(net.metricSum(out, batch.labels, batch.y));
		return net.lossOf(batch.y, out);
	}, net.varList);
	const vector = contribution(
		net.varList.map(v => grads[v.name].dataSync() as Float32Array),
		shard.length,
		(value.dataSync()[0] as number) * shard.length,
		(metricTensor as Scalar).dataSync()[0] as number,
	);
	tf.dispose([value, metricTensor as Scalar, batch.x, batch.y, batch.labels]);
	tf.dispose(Object.values(grads));
	return vector;
}

/**
 * One pass as rank `rank` of `size` replicas: every rank shuffles the same order (the seed's),
 * computes the gradients of its shard of each batch, exchanges them for the batch's weighted
 * mean and applies it with the same optimizer step, so the replicas stay identical.
 */
async function trainOneEpochParallel(
	run: Run,
	parallel: { rank: number; size: number },
	exchange: NonNullable<LoopHooks["exchange"]>,
): Promise<{ loss: number; metric: number; communication: CommunicationCost }> {
	const { tf, net, optimizer, hooks } = run;
	const { config, train } = run.request;
	const order = run.state.shuffleRandom.permutation(train.rows);
	const sizes = net.varList.map(v => v.size);
	let lossSum = 0;
	let metricTotal = 0;
	const cost: CommunicationCost = {
		workers: parallel.size,
		steps: 0,
		msPerStep: 0,
		bytesPerStep: 0,
	};
	let commMs = 0;
	for (let from = 0; from < train.rows; from += config.batchSize) {
		const rows = order.subarray(from, Math.min(from + config.batchSize, train.rows));
		const { start, end } = shardRange(rows.length, parallel.rank, parallel.size);
		const vector = shardContribution(run, rows.subarray(start, end));
		// Read before the exchange: handing the vector to another thread empties it.
		cost.bytesPerStep = 2 * (parallel.size - 1) * vector.byteLength;
		const exchangeStart = performance.now();
		const reduced = await exchange(run.step++, vector);
		commMs += performance.now() - exchangeStart;
		cost.steps++;
		const step = readReduced(reduced, sizes);
		const named = Object.fromEntries(
			net.varList.map((v, i) => [v.name, tf.tensor(step.gradients[i], v.shape)]),
		);
		optimizer.applyGradients(named);
		net.applyMasks();
		tf.dispose(Object.values(named));
		lossSum += step.lossSum;
		metricTotal += step.metricSum;
		if (hooks.isCancelled?.()) throw new TrainingCancelledError();
	}
	cost.msPerStep = cost.steps > 0 ? commMs / cost.steps : 0;
	const mean = net.unscale(lossSum / train.rows, metricTotal / train.rows);
	return { ...mean, communication: cost };
}

/** One epoch, data-parallel when the request asks for more than one worker. */
async function trainEpoch(
	run: Run,
): Promise<{ loss: number; metric: number; communication?: CommunicationCost }> {
	const parallel = run.request.parallel;
	if (!parallel || parallel.size <= 1) return trainOneEpoch(run);
	if (!run.hooks.exchange)
		throw new Error("A data-parallel run needs an exchange hook for its gradients.");
	return trainOneEpochParallel(run, parallel, run.hooks.exchange);
}

/** The validation split's loss and metric, or null without one. */
function scoreValidation(run: Run): Record<string, number> | null {
	const { validation } = run.request;
	if (!validation || validation.rows === 0) return null;
	const v = run.net.evaluate(validation);
	const u = run.net.unscale(v.loss, v.metric);
	return { val_loss: u.loss, [`val_${run.net.metricName}`]: u.metric };
}

/** Updates early stopping with this epoch's monitored value; true when patience ran out. */
function updateEarlyStopping(run: Run, progress: EpochProgress): boolean {
	const stopping = run.request.config.earlyStopping;
	if (!stopping) return false;
	const { state } = run;
	const value = monitored(progress, stopping.monitor);
	if (isBetter(stopping.monitor, value, state.early.best, stopping.minDelta)) {
		state.early = {
			best: value,
			bestEpoch: progress.epoch,
			wait: 0,
			bestWeights: stopping.restoreBestWeights ? run.net.readVariables() : null,
		};
	} else {
		state.early = { ...state.early, wait: state.early.wait + 1 };
	}
	progress.bestEpoch = state.early.bestEpoch;
	return state.early.wait > 0 && state.early.wait >= stopping.patience;
}

/** Trains epoch after epoch until the last one or early stopping; see the module comment. */
async function runEpochs(
	run: Run,
	started: number,
): Promise<{ lastEpoch: number; stoppedEarly: boolean }> {
	const { config, train } = run.request;
	const { state, hooks } = run;
	let stoppedEarly = false;
	let lastEpoch = state.startEpoch;
	const epochTimes: number[] = [];
	for (let epoch = state.startEpoch + 1; epoch <= config.epochs; epoch++) {
		const epochStart = performance.now();
		const trained = await trainEpoch(run);
		const scored = scoreValidation(run);
		const now = performance.now();
		epochTimes.push(now - epochStart);
		const meanEpochMs = epochTimes.reduce((a, b) => a + b, 0) / epochTimes.length;
		const progress: EpochProgress = {
			epoch,
			epochs: config.epochs,
			loss: trained.loss,
			metrics: { [run.net.metricName]: trained.metric },
			validation: scored,
			samplesPerSecond: train.rows / ((now - epochStart) / 1000),
			etaMs: meanEpochMs * (config.epochs - epoch),
			elapsedMs: state.elapsedBefore + (now - started),
			bestEpoch: epoch,
			...(trained.communication ? { communication: trained.communication } : {}),
		};
		const patienceSpent = updateEarlyStopping(run, progress);
		state.history = [...state.history, progress];
		lastEpoch = epoch;
		hooks.onProgress?.(progress);
		if (patienceSpent) stoppedEarly = true;
		if (
			config.checkpointEvery > 0 &&
			epoch % config.checkpointEvery === 0 &&
			hooks.onCheckpoint
		)
			hooks.onCheckpoint(epoch, await checkpointBytes(run, epoch, progress.elapsedMs));
		if (stoppedEarly) break;
	}
	return { lastEpoch, stoppedEarly };
}

/** Restores the best weights if asked, builds the inference network, predicts and exports. */
async function finishRun(
	run: Run,
	backend: BackendInfo,
	started: number,
	outcome: { lastEpoch: number; stoppedEarly: boolean },
): Promise<TrainResult> {
	const { tf, request, state, net } = run;
	const { config } = request;
	const { lastEpoch, stoppedEarly } = outcome;
	let bestEpoch = lastEpoch;
	let restoredBestWeights = false;
	const stopping = config.earlyStopping;
	if (stopping) {
		bestEpoch = state.early.bestEpoch;
		const best = state.early.bestWeights;
		if (stopping.restoreBestWeights && best && state.early.bestEpoch !== lastEpoch) {
			net.assignVariables(best);
			restoredBestWeights = true;
		}
	}
	const network = trainedNetwork(config, request.train.width, net.readVariables(), net.scale);
	const model = layersModel(tf, network);
	try {
		const predictions = request.predict
			? predictWith(tf, model, network, request.predict.x, request.predict.rows)
			: null;
		const tfjs = request.exportTfjs === false ? null : await saveLayersModel(tf, model);
		return {
			network,
			history: state.history,
			epochs: lastEpoch,
			stoppedEarly,
			bestEpoch,
			restoredBestWeights,
			resumedFromEpoch: state.resumedFromEpoch,
			backend,
			predictions,
			trainingMs: state.elapsedBefore + (performance.now() - started),
			tfjs,
		};
	} finally {
		model.dispose();
	}
}

/** Builds, trains and finishes one run; see the module comment. */
export async function runTrainingLoop(
	tf: TfModule,
	backend: BackendInfo,
	request: TrainRequest,
	hooks: LoopHooks = {},
): Promise<TrainResult> {
	const { config, train } = request;
	const random = new SeededRandom(config.seed);
	const initRandom = random.fork();
	const state: LoopState = {
		shuffleRandom: random.fork(),
		dropoutRandom: random.fork(),
		startEpoch: 0,
		elapsedBefore: 0,
		history: [],
		early: { best: null, bestEpoch: 0, wait: 0, bestWeights: null },
		resumedFromEpoch: null,
		targetScale: config.task === "classification" ? null : regressionTargetScale(train),
	};
	const fingerprint = configFingerprint(config, train);
	const start = request.start ?? null;
	const variables = createVariables(
		tf,
		config,
		train.width,
		initRandom,
		start,
		state.targetScale,
	);
	const varList: Variable[] = variables.flatMap(v => [v.kernel, v.bias]);
	const masks = maskTensors(tf, variables, start);
	const optimizer = makeOptimizer(tf, config);
	try {
		if (request.resumeFrom)
			await resumeFromCheckpoint(
				tf,
				request.resumeFrom,
				fingerprint,
				varList,
				optimizer,
				state,
			);
		const scale = state.targetScale ?? { mean: 0, std: 1 };
		const net = new DenseNet(
			tf,
			config,
			variables,
			train.width,
			state.dropoutRandom,
			scale,
			request.parallel?.rank ?? 0,
			masks,
		);
		const run: Run = { tf, request, hooks, optimizer, fingerprint, state, net, step: 0 };
		const started = performance.now();
		const outcome = await runEpochs(run, started);
		return await finishRun(run, backend, started, outcome);
	} finally {
		optimizer.dispose();
		tf.dispose(varList);
		tf.dispose(masks.filter((m): m is Tensor => m !== null));
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
