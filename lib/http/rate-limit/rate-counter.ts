/**
 * Counters behind the gateway's rate limits: fixed windows aligned to the wall clock
 * (`floor(now / windowMs)`), so every gateway sharing a store agrees on when a window ends.
 * One implementation per file, picked by `createRateCounter` (./index.ts).
 */

/** A key's count in the current window, and when that window ends (ms since the epoch). */
export interface RateCount {
	count: number;
	resetAt: number;
}

export interface RateCounter {
	/** Counts one request for `key` and returns its count in the current window. */
	hit(key: string): Promise<RateCount>;
	/** Resolves once the counter can count (a shared store connected), or after `timeoutMs` regardless. */
	ready(timeoutMs: number): Promise<boolean>;
	/** Releases connections and timers. */
	close(): Promise<void>;
}

/** The index of the window `now` falls in, and when it ends. */
export function currentWindow(now: number, windowMs: number): { index: number; resetAt: number } {
	const index = Math.floor(now / windowMs);
	return { index, resetAt: (index + 1) * windowMs };
}
