/**
 * A trained dense network's forward pass in plain TypeScript (float64), for work on the trainer
 * that needs many predictions without a runtime: the permutation importance of the test split.
 * Activations as the ONNX export writes them (onnx-export.ts). `forwardNetworkInTurns` is the
 * same pass for a node's main thread: it yields to the event loop between slices of rows.
 */
import { performance } from "node:perf_hooks";
import { setImmediate as nextTurn } from "node:timers/promises";
import type { TrainedNetwork } from "./training-types";

/** forwardNetworkInTurns' default: rows are run for this long before the event loop gets a turn. */
export const FORWARD_SLICE_MS = 20;

const SELU_SCALE = 1.0507009873554805;
const SELU_ALPHA = 1.6732632423543772;

function activate(values: Float64Array, activation: string): void {
	if (activation === "softmax") {
		let max = -Infinity;
		for (const v of values) max = Math.max(max, v);
		let sum = 0;
		for (let i = 0; i < values.length; i++) sum += values[i] = Math.exp(values[i] - max);
		for (let i = 0; i < values.length; i++) values[i] /= sum;
		return;
	}
	for (let i = 0; i < values.length; i++) {
		const x = values[i];
		switch (activation) {
			case "relu":
				values[i] = Math.max(0, x);
				break;
			case "tanh":
				values[i] = Math.tanh(x);
				break;
			case "sigmoid":
				values[i] = 1 / (1 + Math.exp(-x));
				break;
			case "elu":
				values[i] = x > 0 ? x : Math.expm1(x);
				break;
			case "selu":
				values[i] = SELU_SCALE * (x > 0 ? x : SELU_ALPHA * Math.expm1(x));
				break;
			case "softplus":
				values[i] = Math.log1p(Math.exp(x));
				break;
		}
	}
}

/** Rows [from, to) of `x` ([rows, inputWidth]) through the network into `out` ([rows, outputs]). */
function forwardRows(
	network: TrainedNetwork,
	x: ArrayLike<number>,
	from: number,
	to: number,
	out: Float64Array,
): void {
	const width = network.inputWidth;
	const outputs = outputsOf(network);
	for (let r = from; r < to; r++) {
		let h = new Float64Array(width);
		for (let i = 0; i < width; i++) h[i] = x[r * width + i];
		for (const layer of network.layers) {
			const next = Float64Array.from(layer.bias);
			for (let i = 0; i < layer.inputs; i++) {
				const hi = h[i];
				if (hi === 0) continue;
				const row = i * layer.units;
				for (let j = 0; j < layer.units; j++) next[j] += hi * layer.kernel[row + j];
			}
			activate(next, layer.activation);
			h = next;
		}
		out.set(h, r * outputs);
	}
}

function outputsOf(network: TrainedNetwork): number {
	return network.layers[network.layers.length - 1].units;
}

/** The outputs of `rows` rows of `x` ([rows, inputWidth]), [rows, outputs] row-major. */
export function forwardNetwork(
	network: TrainedNetwork,
	x: ArrayLike<number>,
	rows: number,
): Float64Array {
	const out = new Float64Array(rows * outputsOf(network));
	forwardRows(network, x, 0, rows, out);
	return out;
}

/**
 * forwardNetwork's outputs, computed in slices of about `sliceMs` each with a turn of the event
 * loop between them. On a node's main thread a large network or test split takes seconds, and a
 * node that blocks that long misses its heartbeats and is taken for lost; a slice is timed
 * rather than counted in rows so that it stays short for any network size and on a loaded machine.
 */
export async function forwardNetworkInTurns(
	network: TrainedNetwork,
	x: ArrayLike<number>,
	rows: number,
	sliceMs = FORWARD_SLICE_MS,
): Promise<Float64Array> {
	const out = new Float64Array(rows * outputsOf(network));
	let row = 0;
	while (row < rows) {
		if (row > 0) await nextTurn();
		const until = performance.now() + sliceMs;
		do {
			forwardRows(network, x, row, row + 1, out);
			row++;
		} while (row < rows && performance.now() < until);
	}
	return out;
}
