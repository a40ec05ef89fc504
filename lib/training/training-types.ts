/**
 * What crosses between the thread that asks for a training run and the worker thread that runs
 * it: plain data and typed arrays only (structured-clone safe), so the same messages could go
 * to another process.
 */
import type {
	Activation,
	DenseLayerSpec,
	EarlyStoppingSpec,
	OptimizerName,
	Task,
} from "./job-spec";

/** Examples: `rows` × `width` features, row-major, and one target per row. */
export interface TrainingData {
	x: Float32Array;
	rows: number;
	width: number;
	/** Class indices (classification) or values (regression). */
	y: Int32Array | Float32Array | Float64Array;
}

/** The hyperparameters of one run (a JobSpec's, plus what the data fixes). */
export interface TrainingConfig {
	task: Task;
	/** Output units: the number of classes, or 1 for regression. */
	outputs: number;
	/** The hidden layers. */
	layers: DenseLayerSpec[];
	optimizer: OptimizerName;
	learningRate: number;
	epochs: number;
	batchSize: number;
	earlyStopping: EarlyStoppingSpec | null;
	/** 0 = no checkpoints. */
	checkpointEvery: number;
	seed: number;
}

/** "auto": tfjs-node(-gpu) when installed, else wasm, else the pure-JS cpu backend. */
export type BackendPreference = "auto" | "wasm" | "cpu" | "tensorflow";

export interface TrainRequest {
	config: TrainingConfig;
	train: TrainingData;
	/** Scored after every epoch (val_* metrics); null without a validation split. */
	validation: TrainingData | null;
	/** Rows to predict with the final weights (usually the test split). */
	predict: { x: Float32Array; rows: number } | null;
	/** A checkpoint of this same job: training continues at its epoch + 1. */
	resumeFrom: Uint8Array | null;
	/** Default "auto". */
	backend?: BackendPreference;
	/** Prefer a GPU backend (tfjs-node-gpu) when "auto". Default false. */
	gpu?: boolean;
	/** Also write the trained network as a TF.js layers model. Default true. */
	exportTfjs?: boolean;
	/**
	 * Data-parallel training: this run is rank `rank` of `size` replicas that each train on
	 * their shard of every batch and exchange gradients (LoopHooks.exchange). Absent or size 1:
	 * one worker.
	 */
	parallel?: { rank: number; size: number } | null;
	/** Start from these weights rather than the seed's (fine-tuning); default null. */
	start?: TrainingStart | null;
}

/** Data-parallel training's cost, over an epoch's steps (measured on the rank that reports). */
export interface CommunicationCost {
	workers: number;
	steps: number;
	/** Mean wall time of a step's gradient exchange, ms. */
	msPerStep: number;
	/** Gradient payload bytes that cross the bus per step (every rank's send and receive). */
	bytesPerStep: number;
}

/**
 * Weights to start a run from, e.g. a pruned network to fine-tune: per layer (the output layer
 * last) as a TrainedNetwork holds them, a regression output in the label's units.
 */
export interface TrainingStart {
	layers: { kernel: Float32Array; bias: Float32Array }[];
	/**
	 * Per layer: 1 where a kernel weight trains, 0 where it is held at zero (re-applied after
	 * every optimizer step, so pruned weights stay pruned); null or absent = no mask.
	 */
	kernelMasks?: (Uint8Array | null)[] | null;
}

/** After each epoch. Metric names follow Keras: loss, accuracy | mae; val_loss, val_accuracy | val_mae. */
export interface EpochProgress {
	/** 1-based: epochs completed so far. */
	epoch: number;
	epochs: number;
	loss: number;
	/** accuracy (classification) or mae (regression), on the batches trained. */
	metrics: Record<string, number>;
	/** val_loss and val_accuracy | val_mae; null without a validation split. */
	validation: Record<string, number> | null;
	samplesPerSecond: number;
	/** Time left if every remaining epoch runs (early stopping may end sooner). */
	etaMs: number;
	elapsedMs: number;
	/** The epoch whose monitored value is best so far (early stopping), else this one. */
	bestEpoch: number;
	/** Data-parallel runs only: the epoch's gradient exchanges. */
	communication?: CommunicationCost;
}

/** One dense layer as trained: y = activation(x · kernel + bias). */
export interface DenseLayerWeights {
	inputs: number;
	units: number;
	/** [inputs, units], row-major. */
	kernel: Float32Array;
	bias: Float32Array;
	activation: Activation | "softmax";
}

/** The network for inference: dropout gone, softmax on a classifier's last layer. */
export interface TrainedNetwork {
	task: Task;
	inputWidth: number;
	layers: DenseLayerWeights[];
}

export interface BackendInfo {
	/** The TF.js backend that ran: "wasm", "cpu" or "tensorflow" (tfjs-node). */
	name: string;
	device: "cpu" | "gpu";
	/** e.g. "WebAssembly, SIMD, 1 thread". */
	detail: string;
}

export interface TfjsModelFiles {
	/** model.json, weightsManifest pointing at `weightsPath`. */
	modelJson: string;
	weightsPath: string;
	weights: Uint8Array;
}

export interface TrainResult {
	network: TrainedNetwork;
	history: EpochProgress[];
	/** The last epoch trained (1-based). */
	epochs: number;
	stoppedEarly: boolean;
	/** The epoch whose weights the network holds. */
	bestEpoch: number;
	restoredBestWeights: boolean;
	/** The checkpoint's epoch when resumed, else null. */
	resumedFromEpoch: number | null;
	backend: BackendInfo;
	/** For `predict`'s rows: class probabilities [rows, classes] or values [rows]. */
	predictions: Float32Array | null;
	trainingMs: number;
	tfjs: TfjsModelFiles | null;
}

/** Messages from the worker. */
export type WorkerMessage =
	| { type: "backend"; backend: BackendInfo }
	| { type: "progress"; progress: EpochProgress }
	| { type: "checkpoint"; epoch: number; bytes: Uint8Array }
	| { type: "done"; result: TrainResult }
	| { type: "cancelled" }
	| { type: "error"; error: { name: string; message: string; data?: Record<string, unknown> } }
	/** Data-parallel: this step's contribution, to exchange for the reduced vector. */
	| { type: "exchange"; step: number; vector: Float32Array };

/** Messages to the worker: the answer to an `exchange`. */
export type ExchangeReply =
	| { type: "exchanged"; step: number; vector: Float32Array }
	| { type: "exchange-failed"; step: number; message: string };
