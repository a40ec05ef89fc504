/**
 * What a study does next, decided from its persisted trials alone (pure): which trial segments
 * to queue, which to stop (wall time spent), which trial is best, and whether the search is
 * over. The study loop (the scheduler's studies mixin) runs it on every pass and on every trial
 * event, so a control node that restarts carries on from the database.
 *
 * A trial is one or more training jobs, its segments: one per rung. Without ASHA a trial has a
 * single segment of the base spec's `epochs`; under ASHA, segment k trains from the checkpoint
 * segment k−1 ended with to the epoch rung k ends at. Once the search is over, one more job
 * (rung −1) resumes the best trial's last checkpoint with no epoch left to train, evaluates it
 * on the test split and registers it as the study's version.
 *
 * Determinism: trial i's point depends on the study's seed and i (random, grid, ASHA), and for
 * TPE on trials 0 … i−parallelism−1 only, which must all have finished before trial i starts.
 * ASHA's promotions depend only on metrics (searchers/asha.ts). A trial that is delayed — its
 * trainer died and it resumed from its checkpoint elsewhere — changes no decision.
 */
import type { JobCheckpoint, JobState } from "../scheduler/job-store";
import { validateJobSpec, type JobSpec } from "../training/job-spec";
import { applyParams, readParam, type Params } from "./search-space";
import { ashaPromotions } from "./searchers/asha";
import { gridTrial } from "./searchers/grid";
import { randomTrial, trialRandom } from "./searchers/random";
import { tpeTrial, type Observation } from "./searchers/tpe";
import type { StudySpec } from "./study-spec";

/** The rung of the job that registers the best trial. */
export const REGISTER_RUNG = -1;

/** A training job of the study, as the plan needs it. */
export interface TrialSegment {
	jobId: string;
	trial: number;
	rung: number;
	state: JobState;
	spec: Record<string, unknown>;
	/** The metrics of its last epoch; null before the first. */
	lastMetrics: Record<string, number> | null;
	checkpoint: JobCheckpoint | null;
	result: Record<string, unknown> | null;
	error: string | null;
}

/** A segment to queue: its spec (register: false, epochs: its rung's end) and where it resumes. */
export interface SegmentLaunch {
	trial: number;
	rung: number;
	spec: JobSpec;
	checkpoint: JobCheckpoint | null;
}

export interface BestTrial {
	trial: number;
	rung: number;
	jobId: string;
	/** The objective metric's value at the trial's last finished rung. */
	value: number;
	epochs: number;
	params: Params;
	checkpoint: JobCheckpoint | null;
}

export interface StudyPlan {
	launch: SegmentLaunch[];
	/** Jobs to stop: the wall-time budget is spent. */
	stop: string[];
	best: BestTrial | null;
	/** True once no trial segment runs or will be queued. */
	searchDone: boolean;
	/** Epochs the queued segments cost (every segment's length, run or not). */
	epochsPlanned: number;
	trialsStarted: number;
}

const ACTIVE: readonly JobState[] = ["queued", "running"];

function key(trial: number, rung: number): string {
	return `${trial}/${rung}`;
}

function rungStart(spec: StudySpec, rung: number): number {
	return rung === 0 ? 0 : spec.rungs[rung - 1];
}

/** Checkpoint every this many epochs: each rung's end must have one to resume from. */
function checkpointEvery(spec: StudySpec): number {
	const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
	const every = spec.rungs.reduce(gcd);
	const wanted = spec.base.checkpointEvery > 0 ? spec.base.checkpointEvery : every;
	// The largest divisor of `every` not above what the base asked for.
	for (let d = Math.min(wanted, every); d >= 1; d--) if (every % d === 0) return d;
	return 1;
}

/** The job spec of a trial at a rung. */
export function segmentSpec(spec: StudySpec, params: Params, rung: number): JobSpec {
	const resolved = validateJobSpec(applyParams(spec.baseInput, params), () => spec.base.seed);
	return {
		...resolved,
		epochs: rung === REGISTER_RUNG ? resolved.epochs : spec.rungs[rung],
		checkpointEvery: checkpointEvery(spec),
		register: rung === REGISTER_RUNG,
	};
}

/** The objective as a score, higher better; null without a value. */
function scoreOf(spec: StudySpec, segment: TrialSegment): number | null {
	if (segment.state !== "completed") return null;
	const value = segment.lastMetrics?.[spec.objective.metric];
	if (typeof value !== "number" || !Number.isFinite(value)) return null;
	return spec.objective.direction === "max" ? value : -value;
}

function paramsOf(spec: StudySpec, segment: TrialSegment): Params {
	const params: Params = {};
	for (const name of Object.keys(spec.space).sort()) {
		const value = readParam(segment.spec as unknown as JobSpec, name);
		if (value !== undefined) params[name] = value;
	}
	return params;
}

class Trials {
	readonly byKey = new Map<string, TrialSegment>();
	constructor(segments: readonly TrialSegment[]) {
		for (const s of segments)
			if (s.rung !== REGISTER_RUNG) this.byKey.set(key(s.trial, s.rung), s);
	}
	get(trial: number, rung: number): TrialSegment | undefined {
		return this.byKey.get(key(trial, rung));
	}
	finished(trial: number, rung: number): boolean {
		const s = this.get(trial, rung);
		return s !== undefined && !ACTIVE.includes(s.state);
	}
}

/** The trial's point: drawn (random, ASHA), enumerated (grid) or modelled (TPE). */
function pointOf(spec: StudySpec, trials: Trials, trial: number): Params | null {
	const existing = trials.get(trial, 0);
	if (existing) return paramsOf(spec, existing);
	switch (spec.searcher.type) {
		case "grid":
			return gridTrial(spec.space, trial);
		case "tpe": {
			const known = Math.max(0, trial - spec.parallelism);
			const history: Observation[] = [];
			for (let j = 0; j < known; j++) {
				if (!trials.finished(j, 0)) return null;
				const score = scoreOf(spec, trials.get(j, 0)!);
				if (score !== null)
					history.push({ params: paramsOf(spec, trials.get(j, 0)!), score });
			}
			return tpeTrial(spec.space, history, trialRandom(spec.seed, trial), {
				startupTrials: spec.searcher.startupTrials,
				gamma: 0.25,
				candidates: 24,
			});
		}
		default:
			return randomTrial(spec.space, spec.seed, trial);
	}
}

/** The best trial so far: its score at its highest finished rung; ties to the lower index. */
function bestOf(spec: StudySpec, trials: Trials): BestTrial | null {
	const lastRung = new Map<number, TrialSegment>();
	for (const s of trials.byKey.values()) {
		if (scoreOf(spec, s) === null) continue;
		const known = lastRung.get(s.trial);
		if (!known || s.rung > known.rung) lastRung.set(s.trial, s);
	}
	let best: { segment: TrialSegment; score: number } | null = null;
	for (const segment of [...lastRung.values()].sort((a, b) => a.trial - b.trial)) {
		const score = scoreOf(spec, segment)!;
		if (!best || score > best.score) best = { segment, score };
	}
	if (!best) return null;
	const s = best.segment;
	return {
		trial: s.trial,
		rung: s.rung,
		jobId: s.jobId,
		value: s.lastMetrics![spec.objective.metric],
		epochs: spec.rungs[s.rung],
		params: paramsOf(spec, s),
		checkpoint: s.checkpoint,
	};
}

/** Segments the searcher wants, in launch order: promotions (higher rungs first), then new trials. */
function wanted(spec: StudySpec, trials: Trials): { trial: number; rung: number }[] {
	const promotions =
		spec.searcher.type === "asha"
			? ashaPromotions(
					spec.budget.trials,
					spec.rungs.length,
					spec.searcher.reductionFactor,
					(t, r) => {
						const s = trials.get(t, r);
						if (!s || ACTIVE.includes(s.state)) return undefined;
						return scoreOf(spec, s);
					},
				)
			: [];
	promotions.sort((a, b) => b.rung - a.rung || a.trial - b.trial);
	const fresh = Array.from({ length: spec.budget.trials }, (_, trial) => ({ trial, rung: 0 }));
	return [...promotions, ...fresh];
}

/** See the module comment. `elapsedMs`: since the study was created. */
export function planStudy(
	spec: StudySpec,
	segments: readonly TrialSegment[],
	elapsedMs: number,
): StudyPlan {
	const trials = new Trials(segments);
	const active = [...trials.byKey.values()].filter(s => ACTIVE.includes(s.state));
	let epochsPlanned = 0;
	for (const s of trials.byKey.values())
		epochsPlanned += spec.rungs[s.rung] - rungStart(spec, s.rung);
	const outOfTime = spec.budget.wallTimeMs !== null && elapsedMs >= spec.budget.wallTimeMs;
	const launch: SegmentLaunch[] = [];
	let waiting = false;
	let slots = spec.parallelism - active.length;
	for (const want of outOfTime ? [] : wanted(spec, trials)) {
		if (trials.get(want.trial, want.rung)) continue;
		const cost = spec.rungs[want.rung] - rungStart(spec, want.rung);
		if (spec.budget.totalEpochs !== null && epochsPlanned + cost > spec.budget.totalEpochs)
			continue;
		const previous = want.rung > 0 ? trials.get(want.trial, want.rung - 1) : undefined;
		const from = previous?.checkpoint ?? null;
		// A promotion resumes where the last rung ended: wait for that checkpoint's report.
		const ready =
			want.rung === 0 || (from !== null && from.epoch === spec.rungs[want.rung - 1]);
		const params =
			ready && slots > 0
				? previous
					? paramsOf(spec, previous)
					: pointOf(spec, trials, want.trial)
				: null;
		if (params === null) {
			waiting = true;
			continue;
		}
		launch.push({
			trial: want.trial,
			rung: want.rung,
			spec: segmentSpec(spec, params, want.rung),
			checkpoint: from,
		});
		epochsPlanned += cost;
		slots--;
	}
	return {
		launch,
		stop: outOfTime ? active.map(s => s.jobId) : [],
		best: bestOf(spec, trials),
		searchDone: active.length === 0 && launch.length === 0 && !waiting,
		epochsPlanned,
		trialsStarted:
			new Set([...trials.byKey.values()].map(s => s.trial)).size +
			launch.filter(l => l.rung === 0).length,
	};
}

/** The job that registers the best trial: its last checkpoint, no epoch left to train. */
export function registerLaunch(spec: StudySpec, best: BestTrial): SegmentLaunch {
	return {
		trial: best.trial,
		rung: REGISTER_RUNG,
		spec: { ...segmentSpec(spec, best.params, REGISTER_RUNG), epochs: best.epochs },
		checkpoint: best.checkpoint,
	};
}

/** A trial as a study's view shows it. */
export interface TrialSummary {
	trial: number;
	params: Params;
	/** The highest rung it reached, and the epoch that rung ends at. */
	rung: number;
	epochs: number;
	state: JobState;
	/** The objective metric at its last epoch so far; null before one. */
	value: number | null;
	jobs: string[];
}

/** The study's trials, by index, from its segments. */
export function summarizeTrials(
	spec: StudySpec,
	segments: readonly TrialSegment[],
): TrialSummary[] {
	const byTrial = new Map<number, TrialSegment[]>();
	for (const s of segments) {
		if (s.rung === REGISTER_RUNG) continue;
		byTrial.set(s.trial, [...(byTrial.get(s.trial) ?? []), s]);
	}
	return [...byTrial.entries()]
		.sort(([a], [b]) => a - b)
		.map(([trial, list]) => {
			const top = list.reduce((a, b) => (b.rung > a.rung ? b : a));
			const value = top.lastMetrics?.[spec.objective.metric];
			return {
				trial,
				params: paramsOf(spec, top),
				rung: top.rung,
				epochs: spec.rungs[top.rung],
				state: top.state,
				value: typeof value === "number" ? value : null,
				jobs: list.sort((a, b) => a.rung - b.rung).map(s => s.jobId),
			};
		});
}
