/**
 * Ongoing (queued or running) requests per served version: the count now, and its average
 * over about the last second — the autoscaling signal. Ray Serve averages the same count over
 * a look-back window; a sample taken at one instant mostly sees zero between fast requests,
 * however busy the replica is. The average is an exponentially weighted one of the count as a
 * step function of time, so reading it never changes it.
 */
export class OngoingRequests {
	private readonly byKey = new Map<string, { count: number; average: number; at: number }>();

	constructor(
		/** Time constant of the average, ms. */
		private readonly windowMs = 1000,
		private readonly now: () => number = () => performance.now(),
	) {}

	begin(key: string): void {
		this.change(key, 1);
	}

	end(key: string): void {
		this.change(key, -1);
	}

	current(key: string): number {
		return this.byKey.get(key)?.count ?? 0;
	}

	/** The count averaged over about the last `windowMs`. */
	average(key: string): number {
		const entry = this.byKey.get(key);
		if (!entry) return 0;
		return this.decayed(entry, this.now());
	}

	/** Every key still counted, with its average now. */
	averages(): Array<[key: string, average: number]> {
		const now = this.now();
		return [...this.byKey].map(([key, entry]) => [key, this.decayed(entry, now)]);
	}

	private change(key: string, delta: number): void {
		const now = this.now();
		const entry = this.byKey.get(key) ?? { count: 0, average: 0, at: now };
		entry.average = this.decayed(entry, now);
		entry.at = now;
		entry.count = Math.max(0, entry.count + delta);
		// Forget a version once it is idle and its average has faded.
		if (entry.count === 0 && entry.average < 1e-3) this.byKey.delete(key);
		else this.byKey.set(key, entry);
	}

	private decayed(entry: { count: number; average: number; at: number }, now: number): number {
		const keep = Math.exp(-(now - entry.at) / this.windowMs);
		return entry.average * keep + entry.count * (1 - keep);
	}
}
