/**
 * trainedImportance on the trainer's main thread: a large network's importance is seconds of
 * forward passes, and the event loop keeps turning meanwhile (a trainer that stalls for its
 * heartbeat timeout is taken for lost and its job run again elsewhere).
 */
import { SeededRandom } from "../../../lib/datasets/seeded-random";
import { trainedImportance } from "../../../lib/explain/trained-importance";
import { Preprocessing } from "../../../lib/training/preprocessing";
import type { TrainingOutcome } from "../../../lib/training/training-run";
import type { DenseLayerWeights, TrainedNetwork } from "../../../lib/training/training-types";
import { uniform } from "./explain-models";

/**
 * The longest stall as a share of the whole run: sliced, it is a slice (≈ 20 ms) and the
 * machine's scheduling; in one block it is the whole run. A share, not milliseconds, because on
 * a loaded machine both grow (a 500 ms bound failed at load 10 with the slicing in place: 791 ms
 * of a run several times as long).
 */
const MAX_STALL_SHARE = 0.4;

function denseLayer(
	random: SeededRandom,
	inputs: number,
	units: number,
	activation: DenseLayerWeights["activation"],
): DenseLayerWeights {
	const scale = Math.sqrt(2 / inputs);
	return {
		inputs,
		units,
		kernel: uniform(random, inputs * units, -scale, scale),
		bias: uniform(random, units, -0.1, 0.1),
		activation,
	};
}

/**
 * The longest the event loop went without a turn while `work` ran, ms (a 10 ms timer's gaps,
 * the last one up to the moment `work` settled: a stall at its end counts too), and how long
 * `work` took.
 */
async function longestStall(
	work: () => Promise<unknown>,
): Promise<{ longest: number; total: number }> {
	const start = performance.now();
	let last = start;
	let longest = 0;
	const tick = () => {
		const now = performance.now();
		longest = Math.max(longest, now - last);
		last = now;
	};
	const timer = setInterval(tick, 10);
	try {
		await work();
		tick();
	} finally {
		clearInterval(timer);
	}
	return { longest, total: performance.now() - start };
}

/** What trainedImportance reads of an outcome: a classifier's test split and network. */
function largeClassifierOutcome(rows: number, width: number): TrainingOutcome {
	const random = new SeededRandom(5);
	const network: TrainedNetwork = {
		task: "classification",
		inputWidth: width,
		layers: [
			denseLayer(random, width, 256, "relu"),
			denseLayer(random, 256, 256, "relu"),
			denseLayer(random, 256, 10, "softmax"),
		],
	};
	const preprocessing = new Preprocessing(
		Array.from({ length: width }, (_, c) => ({
			name: `f${c}`,
			kind: "numeric" as const,
			mean: 0,
			std: 1,
		})),
	);
	return {
		preprocessing,
		training: { network },
		test: {
			rows: Uint32Array.from({ length: rows }, (_, r) => r),
			features: uniform(random, rows * width, -2, 2),
			predictions: null,
			truth: Int32Array.from({ length: rows }, () => random.int(10)),
		},
	} as unknown as TrainingOutcome;
}

describe("trainedImportance", () => {
	it("keeps the event loop turning through seconds of forward passes", async () => {
		// 16 features × 5 shuffles of 180 rows through 16 → 256 → 256 → 10: above a second of
		// forward passes on a quiet 2-core machine, all of it one block before they were sliced.
		const outcome = largeClassifierOutcome(180, 16);
		let features = 0;
		const { longest, total } = await longestStall(async () => {
			const importance = await trainedImportance(outcome, { seed: 1, datasetSha256: "0" });
			features = importance?.features.length ?? 0;
		});
		expect(features).toBe(16);
		expect(total).toBeGreaterThan(200); // enough work for slicing to show
		expect(longest / total).toBeLessThan(MAX_STALL_SHARE);
	}, 60_000);
});
