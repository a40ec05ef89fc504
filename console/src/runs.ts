/**
 * Runs and studies as the console draws them (docs/studies.md): a study's trials as one curve
 * each (a trial's segments, one run per ASHA rung, joined by epoch), runs overlaid by a metric,
 * and the small rules of the runs screen (the selection, tags typed as text). Pure, so unit tested.
 */

export interface RunEpoch {
	epoch: number;
	metrics: Record<string, number>;
}

export interface Run {
	id: string;
	model: string;
	state: string;
	study: { id: string; trial: number; rung: number } | null;
	tags: string[];
	params: Record<string, unknown>;
	metrics: Record<string, number>;
	epochs: RunEpoch[];
	createdAt?: string;
}

export interface Curves {
	x: number[];
	series: Array<{ label: string; values: Array<number | null> }>;
}

/** Lines on one epoch axis: each line's value at every epoch, null where it has none (a gap). */
function align(lines: Array<{ label: string; points: Map<number, number> }>): Curves {
	const x = [...new Set(lines.flatMap(l => [...l.points.keys()]))].sort((a, b) => a - b);
	return {
		x,
		series: lines.map(l => ({ label: l.label, values: x.map(e => l.points.get(e) ?? null) })),
	};
}

/**
 * Each trial's `metric` per epoch: its segments (rung 0, 1, …) joined, a higher rung's epoch
 * winning over a lower one's. A trial that ASHA stopped early is a short line; the job that
 * registers the best trial (rung −1) is no trial's.
 */
export function trialCurves(runs: readonly Run[], metric: string): Curves {
	const byTrial = new Map<number, Run[]>();
	for (const run of runs) {
		if (!run.study || run.study.rung < 0) continue;
		byTrial.set(run.study.trial, [...(byTrial.get(run.study.trial) ?? []), run]);
	}
	const lines = [...byTrial.entries()]
		.sort(([a], [b]) => a - b)
		.map(([trial, segments]) => {
			const points = new Map<number, number>();
			for (const segment of [...segments].sort((a, b) => a.study!.rung - b.study!.rung))
				for (const e of segment.epochs)
					if (typeof e.metrics[metric] === "number")
						points.set(e.epoch, e.metrics[metric]);
			return { label: `trial ${trial}`, points };
		});
	return align(lines);
}

/** The runs' `metric` per epoch overlaid, one line per run, labelled by `labelOf`. */
export function runCurves(
	runs: readonly Run[],
	metric: string,
	labelOf: (run: Run) => string,
): Curves {
	return align(
		runs.map(run => ({
			label: labelOf(run),
			points: new Map(
				run.epochs
					.filter(e => typeof e.metrics[metric] === "number")
					.map(e => [e.epoch, e.metrics[metric]] as const),
			),
		})),
	);
}

/** The per-epoch metric names of the runs, the validation ones first. */
export function epochMetricNames(runs: readonly Run[]): string[] {
	const names = [...new Set(runs.flatMap(r => r.epochs.flatMap(e => Object.keys(e.metrics))))];
	return names.sort(
		(a, b) =>
			Number(!a.startsWith("val_")) - Number(!b.startsWith("val_")) || a.localeCompare(b),
	);
}

/** The selection with `id` added, or removed when it was in it; order of choosing kept. */
export function toggled(selected: readonly string[], id: string): string[] {
	return selected.includes(id) ? selected.filter(s => s !== id) : [...selected, id];
}

/** Tags typed as "a, b,  c": trimmed, empty ones dropped, each once. */
export function parseTags(text: string): string[] {
	return [
		...new Set(
			text
				.split(",")
				.map(t => t.trim())
				.filter(Boolean),
		),
	];
}

/** Whether a compared parameter's values differ between runs (by value, not identity). */
export function differs(values: readonly unknown[]): boolean {
	return values.some(v => JSON.stringify(v) !== JSON.stringify(values[0]));
}

/** A trial's point as text: `learningRate=0.01, optimizer=adam`. */
export function paramsText(params: Record<string, unknown>): string {
	return Object.entries(params)
		.map(
			([k, v]) =>
				`${k}=${typeof v === "number" && !Number.isInteger(v) ? Number(v.toPrecision(3)) : String(v)}`,
		)
		.join(", ");
}
