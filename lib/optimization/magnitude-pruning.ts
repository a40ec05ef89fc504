/**
 * Magnitude pruning of a dense network's kernels, per layer: in every Dense kernel the
 * `ceil(sparsity × size)` weights of smallest magnitude become zero (ties broken by position, so
 * the count is exact and a seed-free run is reproducible), and a mask records which survive.
 * Biases are kept: they are few and pruning them saves nothing.
 *
 * Per layer rather than global: one global threshold over layers of different fan-in prunes the
 * wide input layer much harder than the small output layer (its weights are larger), so a
 * 50 % target can strip a layer bare; per layer, every kernel reaches the target and the report
 * is one number that holds for each layer.
 *
 *     const pruned = pruneNetwork(network, 0.5);
 *     // fine-tune with pruned.masks re-applied after every step; then sparsityOf(kernel) ≥ 0.5
 */
import { InvalidInputError } from "../errors";
import type { DenseLayerWeights, TrainedNetwork } from "../training/training-types";

export interface PrunedNetwork {
	network: TrainedNetwork;
	/** Per layer, per kernel entry: 1 where the weight is kept, 0 where it is pruned. */
	masks: Uint8Array[];
}

export interface LayerSparsity {
	/** The layer's index in the network (0 = the first Dense layer). */
	layer: number;
	weights: number;
	zeros: number;
	/** zeros / weights. */
	sparsity: number;
}

/** The fraction given is in [0, 1); otherwise an InvalidInputError naming `field`. */
export function checkSparsity(sparsity: unknown, field = "params.sparsity"): number {
	if (typeof sparsity !== "number" || !(sparsity >= 0 && sparsity < 1))
		throw new InvalidInputError(
			`${field} must be a fraction of weights to zero, at least 0 and below 1 (e.g. 0.5); got ${JSON.stringify(sparsity)}.`,
			{ field },
		);
	return sparsity;
}

/** The kernel's mask: 0 for its `ceil(sparsity × size)` smallest magnitudes, 1 for the rest. */
export function magnitudeMask(kernel: Float32Array, sparsity: number): Uint8Array {
	checkSparsity(sparsity);
	const pruned = Math.ceil(sparsity * kernel.length);
	const order = Uint32Array.from({ length: kernel.length }, (_, i) => i);
	order.sort((a, b) => Math.abs(kernel[a]) - Math.abs(kernel[b]) || a - b);
	const mask = new Uint8Array(kernel.length).fill(1);
	for (let i = 0; i < pruned; i++) mask[order[i]] = 0;
	return mask;
}

/** The kernel times its mask (a copy). */
export function applyMask(kernel: Float32Array, mask: Uint8Array): Float32Array {
	if (kernel.length !== mask.length)
		throw new RangeError(`mask of ${mask.length} entries for a kernel of ${kernel.length}`);
	return kernel.map((w, i) => (mask[i] === 0 ? 0 : w));
}

/** Every Dense kernel pruned to `sparsity`; see the module comment. */
export function pruneNetwork(network: TrainedNetwork, sparsity: number): PrunedNetwork {
	const masks = network.layers.map(layer => magnitudeMask(layer.kernel, sparsity));
	const layers = network.layers.map((layer, i): DenseLayerWeights => ({
		...layer,
		kernel: applyMask(layer.kernel, masks[i]),
	}));
	return { network: { ...network, layers }, masks };
}

/** Zero weights per layer kernel, as the network holds them now. */
export function layerSparsity(network: TrainedNetwork): LayerSparsity[] {
	return network.layers.map((layer, i) => {
		let zeros = 0;
		for (const w of layer.kernel) if (w === 0) zeros++;
		const weights = layer.kernel.length;
		return { layer: i, weights, zeros, sparsity: weights === 0 ? 0 : zeros / weights };
	});
}
