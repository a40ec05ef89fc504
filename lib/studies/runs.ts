/**
 * Runs: every training job seen as an experiment run — its parameters (the resolved spec), its
 * per-epoch metrics, its final metrics (the last epoch's, and the test split's as `test_*`),
 * system figures (samples/s, device, nodes), artifacts (the version, the last checkpoint) and
 * tags. Pure: job views in, run views and comparisons out; the list's order and pages are the
 * database's (lib/scheduler/run-order.ts).
 */
import type { JobCheckpoint, JobState, JobView } from "../scheduler/job-store";

export interface RunView {
	id: string;
	model: string;
	state: JobState;
	study: { id: string; trial: number; rung: number } | null;
	tags: string[];
	params: Record<string, unknown>;
	/** The last epoch's metrics, then the test split's as `test_<name>`. */
	metrics: Record<string, number>;
	epochs: {
		epoch: number;
		metrics: Record<string, number>;
		samplesPerSecond: number;
		nodeID: string;
	}[];
	system: {
		samplesPerSecond: number | null;
		device: string | null;
		nodes: string[];
		epochsRun: number;
	};
	artifacts: { version: string | null; checkpoint: JobCheckpoint | null };
	createdAt: string;
	finishedAt: string | null;
}

export function runOf(job: JobView): RunView {
	const last = job.progress[job.progress.length - 1];
	const metrics: Record<string, number> = { ...(last?.metrics ?? {}) };
	const test = (job.result?.metrics ?? {}) as Record<string, number>;
	for (const [name, value] of Object.entries(test)) metrics[`test_${name}`] = value;
	const speeds = job.progress.map(p => p.samplesPerSecond).filter(Number.isFinite);
	return {
		id: job.id,
		model: job.model,
		state: job.state,
		study: job.study ?? null,
		tags: job.tags ?? [],
		params: job.spec,
		metrics,
		epochs: job.progress.map(p => ({
			epoch: p.epoch,
			metrics: p.metrics,
			samplesPerSecond: p.samplesPerSecond,
			nodeID: p.nodeID,
		})),
		system: {
			samplesPerSecond:
				speeds.length > 0 ? speeds.reduce((a, b) => a + b, 0) / speeds.length : null,
			device: job.backend,
			nodes: [...new Set(job.progress.map(p => p.nodeID))],
			epochsRun: job.progress.length,
		},
		artifacts: {
			version: (job.result?.version as string | null | undefined) ?? null,
			checkpoint: job.checkpoint,
		},
		createdAt: job.createdAt,
		finishedAt: job.finishedAt,
	};
}

/** A nested object as `a.b.0.c` → leaf value. */
function flatten(value: unknown, prefix: string, into: Record<string, unknown>): void {
	if (value !== null && typeof value === "object") {
		const entries = Array.isArray(value)
			? value.map((v, i) => [String(i), v] as const)
			: Object.entries(value);
		if (entries.length === 0) into[prefix] = value;
		for (const [k, v] of entries) flatten(v, prefix ? `${prefix}.${k}` : k, into);
	} else into[prefix] = value;
}

export interface RunComparison {
	runs: { id: string; model: string; state: JobState; study: RunView["study"]; tags: string[] }[];
	/** Each parameter (flattened, `model.layers.0.units`) with its value per run, in the runs' order. */
	params: Record<string, unknown[]>;
	/** The parameters whose values differ between the runs. */
	differing: string[];
	/** Each final metric with its value per run (null where a run has none). */
	metrics: Record<string, (number | null)[]>;
}

/** Lines up the runs' parameters and final metrics side by side. */
export function compareRuns(runs: readonly RunView[]): RunComparison {
	const flat = runs.map(run => {
		const into: Record<string, unknown> = {};
		flatten(run.params, "", into);
		return into;
	});
	const paramNames = [...new Set(flat.flatMap(Object.keys))].sort();
	const params: Record<string, unknown[]> = {};
	for (const name of paramNames) params[name] = flat.map(f => (name in f ? f[name] : null));
	const differing = paramNames.filter(name =>
		params[name].some(v => JSON.stringify(v) !== JSON.stringify(params[name][0])),
	);
	const metricNames = [...new Set(runs.flatMap(run => Object.keys(run.metrics)))].sort();
	const metrics: Record<string, (number | null)[]> = {};
	for (const name of metricNames) metrics[name] = runs.map(run => run.metrics[name] ?? null);
	return {
		runs: runs.map(({ id, model, state, study, tags }) => ({ id, model, state, study, tags })),
		params,
		differing,
		metrics,
	};
}
