import type { CancelTimer, Timers } from "../../../lib/batching/timers";
import type { CacheClock } from "../../../lib/cache/cache-clock";

/** Lets every promise that can settle now settle (all pending microtasks run first). */
export const settle = (): Promise<void> => new Promise(resolve => setImmediate(resolve));

interface FakeTimer {
	at: number;
	seq: number;
	callback: () => void;
}

/** A clock that moves only when a test advances it, firing due timers in order. */
export class FakeClock implements Timers, CacheClock {
	private time: number;
	private seq = 0;
	private timers: FakeTimer[] = [];

	constructor(start = 1_000_000) {
		this.time = start;
	}

	now(): number {
		return this.time;
	}

	setTimer(callback: () => void, delayMs: number): CancelTimer {
		const timer = { at: this.time + Math.max(0, delayMs), seq: this.seq++, callback };
		this.timers.push(timer);
		return () => {
			this.timers = this.timers.filter(t => t !== timer);
		};
	}

	sleep(ms: number): Promise<void> {
		return new Promise(resolve => this.setTimer(resolve, ms));
	}

	/** Moves time forward without firing timers: work that "takes" `ms` synchronously. */
	jump(ms: number): void {
		this.time += ms;
	}

	/** Timers not fired yet. */
	get pendingTimers(): number {
		return this.timers.length;
	}

	/** Moves time forward by `ms`, firing due timers in order and letting promises settle. */
	async advance(ms: number): Promise<void> {
		const target = this.time + ms;
		for (;;) {
			await settle();
			const due = this.timers
				.filter(t => t.at <= target)
				.sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
			if (due === undefined) break;
			this.timers = this.timers.filter(t => t !== due);
			this.time = Math.max(this.time, due.at);
			due.callback();
		}
		this.time = target;
		await settle();
	}
}
