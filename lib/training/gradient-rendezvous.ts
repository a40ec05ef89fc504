/**
 * Rank 0's side of a data-parallel job's allreduce: each step, every rank hands in its
 * contribution (lib/training/data-parallel.ts) and waits; once all `size` are in, they are
 * reduced and every waiting rank gets the same reduced vector (the answer to a non-zero rank's
 * call is the broadcast). A step that does not complete within its timeout, counted from its
 * first contribution, fails with the ranks that are missing; so does every step after
 * `fail()` (a rank's node left, the run ended).
 *
 *     const rendezvous = new GradientRendezvous(2, { firstStepMs: 120_000, stepMs: 30_000 });
 *     const reduced = await rendezvous.contribute(step, rank, vector);
 */
import { reduceContributions } from "./data-parallel";

export interface RendezvousTimeouts {
	/** The first step waits for every rank to load its data and start: longer. */
	firstStepMs: number;
	stepMs: number;
}

/** A step that did not complete: which ranks were missing, and why. */
export class StepFailedError extends Error {
	constructor(
		message: string,
		readonly missingRanks: number[],
	) {
		super(message);
		this.name = "StepFailedError";
	}
}

interface PendingStep {
	contributions: Map<number, Float32Array>;
	waiters: Array<{ resolve(v: Float32Array): void; reject(e: Error): void }>;
	timer: NodeJS.Timeout;
}

export class GradientRendezvous {
	private readonly steps = new Map<number, PendingStep>();
	private failure: StepFailedError | null = null;
	private completedSteps = 0;

	constructor(
		readonly size: number,
		private readonly timeouts: RendezvousTimeouts,
	) {}

	/** The reduced vector of `step` once every rank handed its contribution in. */
	contribute(step: number, rank: number, vector: Float32Array): Promise<Float32Array> {
		if (this.failure) return Promise.reject(this.failure);
		if (!Number.isInteger(rank) || rank < 0 || rank >= this.size)
			return Promise.reject(new RangeError(`rank ${rank} is not in 0..${this.size - 1}`));
		const pending = this.steps.get(step) ?? this.open(step);
		if (pending.contributions.has(rank))
			return Promise.reject(new Error(`rank ${rank} already sent step ${step}`));
		pending.contributions.set(rank, vector);
		const answer = new Promise<Float32Array>((resolve, reject) =>
			pending.waiters.push({ resolve, reject }),
		);
		if (pending.contributions.size === this.size) this.complete(step, pending);
		return answer;
	}

	/** Fails every waiting and future step (a rank is gone, or the run ended). */
	fail(message: string, missingRanks: number[] = []): void {
		if (this.failure) return;
		this.failure = new StepFailedError(message, missingRanks);
		for (const [step, pending] of this.steps) this.reject(step, pending, this.failure);
	}

	get failed(): boolean {
		return this.failure !== null;
	}

	private open(step: number): PendingStep {
		const ms = this.completedSteps === 0 ? this.timeouts.firstStepMs : this.timeouts.stepMs;
		const pending: PendingStep = {
			contributions: new Map(),
			waiters: [],
			timer: setTimeout(() => {
				const missing = this.missing(pending);
				this.fail(
					`data-parallel step ${step}: rank${missing.length === 1 ? "" : "s"} ${missing.join(", ")} sent no gradients within ${ms} ms`,
					missing,
				);
			}, ms),
		};
		pending.timer.unref();
		this.steps.set(step, pending);
		return pending;
	}

	private missing(pending: PendingStep): number[] {
		return Array.from({ length: this.size }, (_, r) => r).filter(
			r => !pending.contributions.has(r),
		);
	}

	private complete(step: number, pending: PendingStep): void {
		clearTimeout(pending.timer);
		this.steps.delete(step);
		this.completedSteps++;
		try {
			const ranks = [...pending.contributions.keys()].sort((a, b) => a - b);
			const reduced = reduceContributions(ranks.map(r => pending.contributions.get(r)!));
			for (const w of pending.waiters) w.resolve(reduced);
		} catch (err) {
			this.fail((err as Error).message);
			for (const w of pending.waiters) w.reject(this.failure!);
		}
	}

	private reject(step: number, pending: PendingStep, error: Error): void {
		clearTimeout(pending.timer);
		this.steps.delete(step);
		for (const w of pending.waiters) w.reject(error);
	}
}
