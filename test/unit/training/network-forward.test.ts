/**
 * The forward pass in turns answers exactly what the one-block pass does, however it is sliced
 * (a row per turn, or every row in one), and takes turns of the event loop between slices.
 */
import { setImmediate as nextTurn } from "node:timers/promises";
import { SeededRandom } from "../../../lib/datasets/seeded-random";
import { forwardNetwork, forwardNetworkInTurns } from "../../../lib/training/network-forward";
import type { TrainedNetwork } from "../../../lib/training/training-types";

function network(): TrainedNetwork {
	const random = new SeededRandom(2);
	const values = (n: number) => Float32Array.from({ length: n }, () => random.next() - 0.5);
	const layer = (inputs: number, units: number, activation: "tanh" | "softmax") => ({
		inputs,
		units,
		kernel: values(inputs * units),
		bias: values(units),
		activation,
	});
	return {
		task: "classification",
		inputWidth: 4,
		layers: [layer(4, 8, "tanh"), layer(8, 3, "softmax")],
	};
}

describe("forwardNetworkInTurns", () => {
	const net = network();
	const rows = 50;
	const x = Float32Array.from({ length: rows * 4 }, (_, i) => Math.sin(i));

	it("answers what forwardNetwork does, a row per slice or all rows in one", async () => {
		const expected = forwardNetwork(net, x, rows);
		expect(await forwardNetworkInTurns(net, x, rows, 0)).toEqual(expected);
		expect(await forwardNetworkInTurns(net, x, rows, Infinity)).toEqual(expected);
		expect(await forwardNetworkInTurns(net, x, 0)).toEqual(new Float64Array(0));
	});

	it("lets the event loop turn between slices", async () => {
		let turns = 0;
		let counting = true;
		const count = async () => {
			while (counting) {
				turns++;
				await nextTurn();
			}
		};
		const counter = count();
		await forwardNetworkInTurns(net, x, rows, 0);
		counting = false;
		await counter;
		// A slice of 0 ms runs one row: the counter got a turn after each but the last.
		expect(turns).toBeGreaterThanOrEqual(rows - 1);
	});
});
