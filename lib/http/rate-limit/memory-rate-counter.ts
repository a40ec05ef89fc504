import { currentWindow, type RateCount, type RateCounter } from "./rate-counter";

/**
 * Counts in this process only: each gateway limits on its own. The map holds the current
 * window's keys alone and is emptied when a new window starts.
 */
export class MemoryRateCounter implements RateCounter {
	private readonly counts = new Map<string, number>();
	private windowIndex = -1;

	constructor(
		private readonly windowMs: number,
		private readonly now: () => number = Date.now,
	) {}

	hit(key: string): Promise<RateCount> {
		const { index, resetAt } = currentWindow(this.now(), this.windowMs);
		if (index !== this.windowIndex) {
			this.counts.clear();
			this.windowIndex = index;
		}
		const count = (this.counts.get(key) ?? 0) + 1;
		this.counts.set(key, count);
		return Promise.resolve({ count, resetAt });
	}

	ready(): Promise<boolean> {
		return Promise.resolve(true);
	}

	close(): Promise<void> {
		this.counts.clear();
		return Promise.resolve();
	}
}
