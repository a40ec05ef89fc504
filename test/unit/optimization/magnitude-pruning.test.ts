import { InvalidInputError } from "../../../lib/errors";
import {
	applyMask,
	layerSparsity,
	magnitudeMask,
	pruneNetwork,
} from "../../../lib/optimization/magnitude-pruning";
import type { TrainedNetwork } from "../../../lib/training/training-types";

describe("magnitude pruning", () => {
	it("masks the ceil(sparsity × size) smallest magnitudes, ties by position", () => {
		const kernel = Float32Array.from([0.5, -0.1, 0.3, -0.2, 0.1, 0.9]);
		expect(Array.from(magnitudeMask(kernel, 0.5))).toEqual([1, 0, 1, 0, 0, 1]);
		// 0.3 × 6 = 1.8 → 2 pruned: |−0.1| and |0.1| tie, both smallest.
		expect(Array.from(magnitudeMask(kernel, 0.3))).toEqual([1, 0, 1, 1, 0, 1]);
		expect(Array.from(magnitudeMask(kernel, 0))).toEqual([1, 1, 1, 1, 1, 1]);
		expect(applyMask(kernel, magnitudeMask(kernel, 0.5))).toEqual(
			Float32Array.from([0.5, 0, 0.3, 0, 0, 0.9]),
		);
	});

	it("prunes every layer to the target on its own, biases kept, and reports it per layer", () => {
		const wide = Float32Array.from({ length: 40 }, (_, i) => (i % 7) * 0.01 - 0.03);
		const network: TrainedNetwork = {
			task: "classification",
			inputWidth: 10,
			layers: [
				{
					inputs: 10,
					units: 4,
					kernel: wide,
					bias: new Float32Array(4).fill(1),
					activation: "relu",
				},
				{
					inputs: 4,
					units: 2,
					kernel: Float32Array.from({ length: 8 }, (_, i) => 1 + i),
					bias: new Float32Array(2),
					activation: "softmax",
				},
			],
		};
		const { network: pruned, masks } = pruneNetwork(network, 0.5);
		// A global threshold would prune only the small-valued first layer; per layer, both halve.
		expect(layerSparsity(pruned).map(s => s.sparsity)).toEqual([0.5, 0.5]);
		expect(masks.map(m => m.reduce((a, b) => a + b, 0))).toEqual([20, 4]);
		expect(Array.from(pruned.layers[0].bias)).toEqual([1, 1, 1, 1]);
		expect(Array.from(pruned.layers[1].kernel)).toEqual([0, 0, 0, 0, 5, 6, 7, 8]);
		expect(Array.from(network.layers[1].kernel)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]); // a copy
	});

	it("refuses a sparsity outside [0, 1)", () => {
		expect(() => magnitudeMask(new Float32Array(4), 1)).toThrow(InvalidInputError);
		expect(() => magnitudeMask(new Float32Array(4), -0.1)).toThrow(/params\.sparsity/);
	});
});
