/** The time and waiting the model cache reads, injected so that tests pass a fake one. */
export interface CacheClock {
	/** Milliseconds (fractions allowed). */
	now(): number;
	sleep(ms: number): Promise<void>;
}

export const SYSTEM_CACHE_CLOCK: CacheClock = Object.freeze({
	now: () => performance.timeOrigin + performance.now(),
	sleep: (ms: number) => new Promise<void>(resolve => setTimeout(resolve, ms)),
});
