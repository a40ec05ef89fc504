/**
 * The attempts a trainer ran to their end (completed, failed or stopped), so that it never runs
 * one of them again: a new leader asks the trainers of the running jobs it finds to run them
 * (lib/scheduler/training-dispatcher.ts, `adopt`), and a run that ended while no control node
 * answered is still "running" there until its report arrives. Bounded: the newest `limit` kept.
 */
export class FinishedRuns {
	/** `jobId:attempt`; a Set iterates in insertion order, so the first is the oldest. */
	private readonly runs = new Set<string>();

	constructor(private readonly limit = 1000) {}

	add(jobId: string, attempt: number): void {
		this.runs.add(`${jobId}:${attempt}`);
		if (this.runs.size > this.limit)
			this.runs.delete(this.runs.values().next().value as string);
	}

	has(jobId: string, attempt: number): boolean {
		return this.runs.has(`${jobId}:${attempt}`);
	}
}
