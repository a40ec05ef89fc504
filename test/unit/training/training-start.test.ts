import { SeededRandom } from "../../../lib/datasets/seeded-random";
import { InvalidInputError } from "../../../lib/errors";
import type { TfModule } from "../../../lib/runtimes/tfjs/load-tfjs";
import { loadTrainingBackend } from "../../../lib/training/tfjs-backend";
import { runTrainingLoop } from "../../../lib/training/training-loop";
import type {
	BackendInfo,
	TrainingConfig,
	TrainingData,
	TrainRequest,
} from "../../../lib/training/training-types";
import { maxRelativeDifference } from "./network-reference";

let tf: TfModule;
let backend: BackendInfo;

beforeAll(async () => {
	({ tf, backend } = await loadTrainingBackend("wasm", false));
});

/** y = 500 + 100·x0 − 40·x1: a regression target far from standard units. */
function linearData(rows: number): TrainingData {
	const random = new SeededRandom(7);
	const x = Float32Array.from({ length: rows * 2 }, () => random.next() * 2 - 1);
	const y = Float64Array.from(
		{ length: rows },
		(_, r) => 500 + 100 * x[r * 2] - 40 * x[r * 2 + 1],
	);
	return { x, rows, width: 2, y };
}

const DATA = linearData(200);
const CONFIG: TrainingConfig = {
	task: "regression",
	outputs: 1,
	layers: [{ units: 8, activation: "tanh", dropout: 0 }],
	optimizer: "adam",
	learningRate: 0.05,
	epochs: 5,
	batchSize: 32,
	earlyStopping: null,
	checkpointEvery: 0,
	seed: 2,
};

function request(config: Partial<TrainingConfig>, extra: Partial<TrainRequest> = {}) {
	return runTrainingLoop(tf, backend, {
		config: { ...CONFIG, ...config },
		train: DATA,
		validation: null,
		predict: null,
		resumeFrom: null,
		exportTfjs: false,
		...extra,
	});
}

describe("runTrainingLoop from given start weights", () => {
	it("starts from them: with no epochs the network is the start network (a regression output in label units)", async () => {
		const trained = await request({});
		const again = await request({ epochs: 0 }, { start: trained.network });
		again.network.layers.forEach((layer, i) => {
			expect(
				maxRelativeDifference(layer.kernel, trained.network.layers[i].kernel),
			).toBeLessThan(1e-5);
			expect(maxRelativeDifference(layer.bias, trained.network.layers[i].bias)).toBeLessThan(
				1e-5,
			);
		});
		// Not the seed's weights.
		const fresh = await request({ epochs: 0 });
		expect(
			maxRelativeDifference(fresh.network.layers[0].kernel, trained.network.layers[0].kernel),
		).toBeGreaterThan(0.01);
	});

	it("holds masked kernel weights at zero through every step while the others train", async () => {
		const trained = await request({});
		const masks = trained.network.layers.map(layer =>
			Uint8Array.from(layer.kernel, (_, i) => i % 2),
		);
		const tuned = await request(
			{ epochs: 3 },
			{ start: { layers: trained.network.layers, kernelMasks: masks } },
		);
		tuned.network.layers.forEach((layer, l) => {
			layer.kernel.forEach((w, i) => {
				if (masks[l][i] === 0) expect(w === 0).toBe(true); // 0 or -0
			});
		});
		const kept = tuned.network.layers[0].kernel.filter((_, i) => masks[0][i] === 1);
		const before = trained.network.layers[0].kernel.filter((_, i) => masks[0][i] === 1);
		expect(maxRelativeDifference(kept, before)).toBeGreaterThan(1e-4);
	});

	it("refuses start weights of another shape", async () => {
		const trained = await request({ epochs: 1 });
		await expect(
			request(
				{ layers: [{ units: 4, activation: "tanh", dropout: 0 }] },
				{ start: trained.network },
			),
		).rejects.toThrow(InvalidInputError);
	});
});
