/**
 * The clock and timers a batch queue reads, injected: production uses the process's
 * high-resolution clock, tests hand in a fake one they advance by hand.
 */

/** Cancels a timer; calling it after the timer fired does nothing. */
export type CancelTimer = () => void;

export interface Timers {
	/** The current time in milliseconds (fractions allowed). Deadlines are on this clock. */
	now(): number;
	/** Calls `callback` once after `delayMs`. */
	setTimer(callback: () => void, delayMs: number): CancelTimer;
}

/** Read once: a getter, on a path taken several times per request. */
const TIME_ORIGIN = performance.timeOrigin;

export const SYSTEM_TIMERS: Timers = Object.freeze({
	// Epoch milliseconds like Date.now(), but with sub-millisecond resolution, so that the
	// queue and compute times of small models are not all rounded to 0 or 1 ms.
	now: () => TIME_ORIGIN + performance.now(),
	setTimer: (callback: () => void, delayMs: number): CancelTimer => {
		const timer = setTimeout(callback, Math.max(0, delayMs));
		return () => clearTimeout(timer);
	},
});
