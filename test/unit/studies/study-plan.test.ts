import type { JobState } from "../../../lib/scheduler/job-store";
import {
	planStudy,
	registerLaunch,
	REGISTER_RUNG,
	summarizeTrials,
	type SegmentLaunch,
	type TrialSegment,
} from "../../../lib/studies/study-plan";
import { validateStudySpec, type StudySpec } from "../../../lib/studies/study-spec";

function study(overrides: Record<string, unknown> = {}): StudySpec {
	return validateStudySpec({
		target: "iris",
		base: { dataset: "iris@1", labelColumn: "label", epochs: 8, seed: 3 },
		space: { learningRate: { type: "loguniform", min: 0.001, max: 0.1 } },
		objective: { metric: "val_accuracy" },
		budget: { trials: 4 },
		parallelism: 2,
		seed: 7,
		...overrides,
	});
}

/** A segment as the job store would have it once `launch` ran with the given end. */
function ran(launch: SegmentLaunch, state: JobState, value?: number): TrialSegment {
	return {
		jobId: `job-${launch.trial}-${launch.rung}`,
		trial: launch.trial,
		rung: launch.rung,
		state,
		spec: launch.spec as unknown as Record<string, unknown>,
		lastMetrics: value === undefined ? null : { val_accuracy: value },
		checkpoint:
			state === "completed"
				? {
						sha256: `ck-${launch.trial}-${launch.rung}`,
						epoch: launch.spec.epochs,
						size: 1,
					}
				: null,
		result: null,
		error: null,
	};
}

describe("study plan", () => {
	it("keeps `parallelism` trials going, then ends with the best trial", () => {
		const spec = study();
		const first = planStudy(spec, [], 0);
		expect(first.launch.map(l => [l.trial, l.rung])).toEqual([
			[0, 0],
			[1, 0],
		]);
		expect(first.launch[0].spec).toMatchObject({ epochs: 8, register: false, seed: 3 });
		expect(first.searchDone).toBe(false);
		const segments = first.launch.map(l => ran(l, "running"));
		expect(planStudy(spec, segments, 0).launch).toEqual([]);
		segments[1] = ran(first.launch[1], "completed", 0.8);
		const second = planStudy(spec, segments, 0);
		expect(second.launch.map(l => l.trial)).toEqual([2]);
		const all = [
			ran(first.launch[0], "completed", 0.9),
			segments[1],
			ran(second.launch[0], "failed"),
		];
		const third = planStudy(spec, all, 0);
		all.push(ran(third.launch[0], "completed", 0.9));
		const done = planStudy(spec, all, 0);
		expect(done.searchDone).toBe(true);
		// Trials 0 and 3 tie at 0.9: the lower index wins.
		expect(done.best).toMatchObject({
			trial: 0,
			value: 0.9,
			epochs: 8,
			checkpoint: { epoch: 8 },
		});
		const register = registerLaunch(spec, done.best!);
		expect(register).toMatchObject({ trial: 0, rung: REGISTER_RUNG, checkpoint: { epoch: 8 } });
		expect(register.spec).toMatchObject({
			epochs: 8,
			register: true,
			learningRate: done.best!.params.learningRate,
		});
	});

	it("draws trial i's point from the seed and i alone", () => {
		const a = planStudy(study({ parallelism: 4 }), [], 0).launch.map(l => l.spec.learningRate);
		const b = planStudy(study({ parallelism: 4 }), [], 0).launch.map(l => l.spec.learningRate);
		expect(a).toEqual(b);
		expect(new Set(a).size).toBe(4);
		const other = planStudy(study({ parallelism: 4, seed: 8 }), [], 0).launch.map(
			l => l.spec.learningRate,
		);
		expect(other).not.toEqual(a);
	});

	it("runs ASHA rung by rung, each promotion resuming the last rung's checkpoint", () => {
		const spec = study({
			searcher: { type: "asha", minEpochs: 2, reductionFactor: 2 },
			parallelism: 4,
		});
		expect(spec.rungs).toEqual([2, 4, 8]);
		const rung0 = planStudy(spec, [], 0).launch;
		expect(rung0.map(l => [l.trial, l.spec.epochs, l.spec.checkpointEvery])).toEqual([
			[0, 2, 2],
			[1, 2, 2],
			[2, 2, 2],
			[3, 2, 2],
		]);
		const segments = rung0.map((l, i) => ran(l, "completed", [0.5, 0.7, 0.9, 0.6][i]));
		const rung1 = planStudy(spec, segments, 0).launch;
		expect(rung1.map(l => [l.trial, l.rung, l.spec.epochs, l.checkpoint?.sha256])).toEqual([
			[1, 1, 4, "ck-1-0"],
			[2, 1, 4, "ck-2-0"],
		]);
		// A finished rung whose checkpoint report has not arrived yet: the promotion waits.
		const late = segments.map(s => (s.trial === 1 ? { ...s, checkpoint: null } : s));
		expect(planStudy(spec, late, 0).launch.map(l => l.trial)).toEqual([2]);
		segments.push(ran(rung1[0], "completed", 0.95), ran(rung1[1], "completed", 0.8));
		const rung2 = planStudy(spec, segments, 0).launch;
		expect(rung2.map(l => [l.trial, l.rung, l.spec.epochs])).toEqual([[1, 2, 8]]);
		segments.push(ran(rung2[0], "completed", 0.97));
		const done = planStudy(spec, segments, 0);
		expect(done.searchDone).toBe(true);
		expect(done.best).toMatchObject({ trial: 1, rung: 2, value: 0.97, epochs: 8 });
		// 4·2 + 2·2 + 1·4 epochs, against 4·8 for the same trials run to the end.
		expect(done.epochsPlanned).toBe(16);
		expect(summarizeTrials(spec, segments).map(t => [t.trial, t.rung, t.value])).toEqual([
			[0, 0, 0.5],
			[1, 2, 0.97],
			[2, 1, 0.8],
			[3, 0, 0.6],
		]);
	});

	it("waits, under TPE, for trials 0 … i−parallelism−1 before choosing trial i", () => {
		const spec = study({
			searcher: { type: "tpe", startupTrials: 1 },
			parallelism: 1,
			budget: { trials: 3 },
		});
		const first = planStudy(spec, [], 0).launch;
		expect(first.map(l => l.trial)).toEqual([0]);
		const running = [ran(first[0], "running")];
		expect(planStudy(spec, running, 0).searchDone).toBe(false);
		const done = [ran(first[0], "completed", 0.5)];
		expect(planStudy(spec, done, 0).launch.map(l => l.trial)).toEqual([1]);
	});

	it("keeps to the epoch and wall-time budgets", () => {
		const spec = study({ budget: { trials: 4, totalEpochs: 20 }, parallelism: 4 });
		expect(planStudy(spec, [], 0).launch).toHaveLength(2);
		const timed = study({ budget: { trials: 4, wallTimeMs: 60_000 } });
		const segments = planStudy(timed, [], 0).launch.map(l => ran(l, "running"));
		const over = planStudy(timed, segments, 60_000);
		expect(over.launch).toEqual([]);
		expect(over.stop).toEqual(["job-0-0", "job-1-0"]);
	});
});
