/**
 * A training checkpoint as one self-describing Uint8Array (stored by the caller as an artifact):
 *
 *     "MFCKPT" u16 version | u32 header length | header (JSON, UTF-8) | padding to 4 | float32 data
 *
 * The header holds the epoch, the generator states (shuffling, dropout), the early-stopping
 * state, the regression target scale, the history so far and a fingerprint of the job's
 * hyperparameters; the data holds the weights, the optimizer's state (Adam's moments,
 * RMSProp's mean squares, the step count) and, when early stopping keeps them, the best
 * weights. Everything a resumed run needs to continue at epoch + 1 as if never stopped.
 */
import { InvalidInputError } from "../errors";
import type { EpochProgress } from "./training-types";

const MAGIC = "MFCKPT";
const VERSION = 1;

export interface OptimizerVariable {
	name: string;
	dtype: "float32" | "int32";
	shape: number[];
	values: Float32Array;
}

export interface EarlyStoppingState {
	/** The best monitored value so far; null before the first epoch. */
	best: number | null;
	bestEpoch: number;
	/** Epochs since the best. */
	wait: number;
	/** The best epoch's weights, when restoreBestWeights keeps them. */
	bestWeights: Float32Array[] | null;
}

export interface CheckpointState {
	/** Identifies the job's hyperparameters and data shape; a resume must match it. */
	fingerprint: string;
	/** Epochs completed. */
	epoch: number;
	elapsedMs: number;
	random: { shuffle: number; dropout: number };
	/** Kernel and bias of each layer in order. */
	weights: Float32Array[];
	optimizer: OptimizerVariable[];
	early: EarlyStoppingState;
	/** Regression targets are standardized for training; this undoes it. */
	targetScale: { mean: number; std: number } | null;
	history: EpochProgress[];
}

interface Header {
	fingerprint: string;
	epoch: number;
	elapsedMs: number;
	random: { shuffle: number; dropout: number };
	early: { best: number | null; bestEpoch: number; wait: number; hasBest: boolean };
	targetScale: { mean: number; std: number } | null;
	history: EpochProgress[];
	optimizer: Omit<OptimizerVariable, "values">[];
	/** Lengths of the float32 blocks, in order: weights, optimizer, best weights. */
	blocks: { weights: number[]; optimizer: number[]; best: number[] };
}

export function encodeCheckpoint(state: CheckpointState): Uint8Array {
	const best = state.early.bestWeights ?? [];
	const header: Header = {
		fingerprint: state.fingerprint,
		epoch: state.epoch,
		elapsedMs: state.elapsedMs,
		random: state.random,
		early: {
			best: state.early.best,
			bestEpoch: state.early.bestEpoch,
			wait: state.early.wait,
			hasBest: state.early.bestWeights !== null,
		},
		targetScale: state.targetScale,
		history: state.history,
		optimizer: state.optimizer.map(({ name, dtype, shape }) => ({ name, dtype, shape })),
		blocks: {
			weights: state.weights.map(w => w.length),
			optimizer: state.optimizer.map(o => o.values.length),
			best: best.map(w => w.length),
		},
	};
	const json = new TextEncoder().encode(JSON.stringify(header));
	const blocks = [...state.weights, ...state.optimizer.map(o => o.values), ...best];
	const dataOffset = Math.ceil((MAGIC.length + 2 + 4 + json.length) / 4) * 4;
	const floats = blocks.reduce((n, b) => n + b.length, 0);
	const out = new Uint8Array(dataOffset + floats * 4);
	const view = new DataView(out.buffer);
	out.set(new TextEncoder().encode(MAGIC), 0);
	view.setUint16(MAGIC.length, VERSION, true);
	view.setUint32(MAGIC.length + 2, json.length, true);
	out.set(json, MAGIC.length + 6);
	let at = dataOffset;
	for (const block of blocks)
		for (let i = 0; i < block.length; i++, at += 4) view.setFloat32(at, block[i], true);
	return out;
}

function invalid(reason: string): never {
	throw new InvalidInputError(`The checkpoint cannot be read: ${reason}.`, {
		field: "checkpoint",
	});
}

function readHeader(bytes: Uint8Array): { header: Header; dataOffset: number } {
	if (
		bytes.length < MAGIC.length + 6 ||
		new TextDecoder().decode(bytes.subarray(0, MAGIC.length)) !== MAGIC
	)
		invalid("not a modelfleet training checkpoint");
	const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	const version = view.getUint16(MAGIC.length, true);
	if (version !== VERSION) invalid(`format version ${version}, this node reads ${VERSION}`);
	const length = view.getUint32(MAGIC.length + 2, true);
	try {
		const header = JSON.parse(
			new TextDecoder("utf-8", { fatal: true }).decode(
				bytes.subarray(MAGIC.length + 6, MAGIC.length + 6 + length),
			),
		) as Header;
		return { header, dataOffset: Math.ceil((MAGIC.length + 6 + length) / 4) * 4 };
	} catch {
		invalid("its header is not valid JSON (truncated?)");
	}
}

export function decodeCheckpoint(bytes: Uint8Array): CheckpointState {
	const { header, dataOffset } = readHeader(bytes);
	const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	let at = dataOffset;
	const read = (n: number): Float32Array => {
		if (at + n * 4 > bytes.length) invalid("it is truncated");
		const values = new Float32Array(n);
		for (let i = 0; i < n; i++, at += 4) values[i] = view.getFloat32(at, true);
		return values;
	};
	const weights = header.blocks.weights.map(read);
	const optimizer = header.optimizer.map((o, i) => ({
		...o,
		values: read(header.blocks.optimizer[i]),
	}));
	const best = header.blocks.best.map(read);
	return {
		fingerprint: header.fingerprint,
		epoch: header.epoch,
		elapsedMs: header.elapsedMs,
		random: header.random,
		weights,
		optimizer,
		early: {
			best: header.early.best,
			bestEpoch: header.early.bestEpoch,
			wait: header.early.wait,
			bestWeights: header.early.hasBest ? best : null,
		},
		targetScale: header.targetScale,
		history: header.history,
	};
}

/** The epoch a checkpoint holds, without decoding its tensors (for a resume's bookkeeping). */
export function checkpointEpoch(bytes: Uint8Array): number {
	return readHeader(bytes).header.epoch;
}
