/** An independent forward pass of a TrainedNetwork in float64: the reference the tests compare with. */
import type { TrainedNetwork } from "../../../lib/training/training-types";

const SELU_SCALE = 1.0507009873554805;
const SELU_ALPHA = 1.6732632423543772;

function activate(values: Float64Array, activation: string): void {
	const f: Record<string, (x: number) => number> = {
		linear: x => x,
		relu: x => Math.max(0, x),
		tanh: Math.tanh,
		sigmoid: x => 1 / (1 + Math.exp(-x)),
		elu: x => (x > 0 ? x : Math.expm1(x)),
		selu: x => SELU_SCALE * (x > 0 ? x : SELU_ALPHA * Math.expm1(x)),
		softplus: x => Math.log1p(Math.exp(x)),
	};
	if (activation === "softmax") {
		const max = Math.max(...values);
		let sum = 0;
		for (let i = 0; i < values.length; i++) sum += values[i] = Math.exp(values[i] - max);
		for (let i = 0; i < values.length; i++) values[i] /= sum;
		return;
	}
	for (let i = 0; i < values.length; i++) values[i] = f[activation](values[i]);
}

/** Outputs of every row, [rows, outputs] row-major. */
export function forwardReference(network: TrainedNetwork, x: Float32Array): Float64Array {
	const rows = x.length / network.inputWidth;
	const outputs = network.layers[network.layers.length - 1].units;
	const out = new Float64Array(rows * outputs);
	for (let r = 0; r < rows; r++) {
		let h = Float64Array.from(x.subarray(r * network.inputWidth, (r + 1) * network.inputWidth));
		for (const layer of network.layers) {
			const next = Float64Array.from(layer.bias);
			for (let i = 0; i < layer.inputs; i++)
				for (let j = 0; j < layer.units; j++)
					next[j] += h[i] * layer.kernel[i * layer.units + j];
			activate(next, layer.activation);
			h = next;
		}
		out.set(h, r * outputs);
	}
	return out;
}

/** Mean cross-entropy of class probabilities against the true classes. */
export function crossEntropy(
	probabilities: ArrayLike<number>,
	truth: ArrayLike<number>,
	classes: number,
): number {
	let sum = 0;
	for (let r = 0; r < truth.length; r++)
		sum -= Math.log(Math.max(probabilities[r * classes + truth[r]], 1e-7));
	return sum / truth.length;
}

/** The largest |a - b| / max(|a|, |b|, floor) over two arrays. */
export function maxRelativeDifference(
	a: ArrayLike<number>,
	b: ArrayLike<number>,
	floor = 1e-6,
): number {
	let worst = 0;
	for (let i = 0; i < a.length; i++) {
		const scale = Math.max(Math.abs(a[i]), Math.abs(b[i]), floor);
		worst = Math.max(worst, Math.abs(a[i] - b[i]) / scale);
	}
	return worst;
}
