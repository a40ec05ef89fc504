import type { JobView } from "../../../lib/scheduler/job-store";
import { compareRuns, runOf } from "../../../lib/studies/runs";

function job(id: string, valAccuracy: number | null, extra: Partial<JobView> = {}): JobView {
	return {
		id,
		model: "iris",
		datasetId: "d",
		state: "completed",
		priority: 0,
		gpu: false,
		nodeID: "n1",
		attempts: 1,
		failures: [],
		epoch: 2,
		checkpoint: { sha256: "ck", epoch: 2, size: 1 },
		progress:
			valAccuracy === null
				? []
				: [1, 2].map(epoch => ({
						epoch,
						metrics: { loss: 1 / epoch, val_accuracy: epoch === 2 ? valAccuracy : 0 },
						samplesPerSecond: epoch * 100,
						etaMs: 0,
						nodeID: `n${epoch}`,
						at: "2026-01-01T00:00:00Z",
					})),
		backend: "wasm (cpu)",
		result: { version: "0.1.0", metrics: { accuracy: 0.9 } },
		error: null,
		waitingReason: null,
		spec: { learningRate: 0.01, model: { layers: [{ units: 8 }] } },
		createdAt: `2026-01-01T00:00:0${id.length}Z`,
		startedAt: null,
		finishedAt: null,
		deadlineAt: null,
		study: null,
		tags: ["a"],
		...extra,
	};
}

describe("runs", () => {
	it("shows a job as a run: final metrics (test ones prefixed), system figures, artifacts", () => {
		const run = runOf(job("a", 0.8));
		expect(run.metrics).toEqual({ loss: 0.5, val_accuracy: 0.8, test_accuracy: 0.9 });
		expect(run.system).toEqual({
			samplesPerSecond: 150,
			device: "wasm (cpu)",
			nodes: ["n1", "n2"],
			epochsRun: 2,
		});
		expect(run.artifacts).toEqual({
			version: "0.1.0",
			checkpoint: { sha256: "ck", epoch: 2, size: 1 },
		});
		expect(run.epochs).toHaveLength(2);
	});

	it("lines up parameters and final metrics, naming the parameters that differ", () => {
		const a = runOf(job("a", 0.5));
		const b = runOf(
			job("b", 0.9, { spec: { learningRate: 0.1, model: { layers: [{ units: 8 }] } } }),
		);
		const comparison = compareRuns([a, b]);
		expect(comparison.params).toEqual({
			learningRate: [0.01, 0.1],
			"model.layers.0.units": [8, 8],
		});
		expect(comparison.differing).toEqual(["learningRate"]);
		expect(comparison.metrics.val_accuracy).toEqual([0.5, 0.9]);
		expect(comparison.runs.map(r => r.id)).toEqual(["a", "b"]);
	});
});
