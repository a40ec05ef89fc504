/**
 * A cache of answers from the control plane that outlives it. Gateways keep verified API keys
 * here and predictors resolved versions, so that the data plane keeps serving what it already
 * knows while no control node answers (docs/operations.md, "When the control plane is down").
 *
 * An answer is trusted without asking for `freshMs`. After that it is asked for again, and:
 * - the new answer replaces it; a refusal (a client error: the key was revoked, the version
 *   deleted) removes it and is the caller's answer — so while control answers, a revocation
 *   takes effect `freshMs` after it at the latest;
 * - when control cannot answer (no instance, the node vanished, a timeout, a 5xx), the older
 *   answer is used, for at most `staleMs` after it was last confirmed;
 * - a request never waits longer than `waitMs` for control when it holds an older answer, and
 *   not at all while control is known to be down or slow (it failed, or did not answer within
 *   `waitMs`): a refresh goes on in the background, one per key at a time, and the first that
 *   succeeds ends the outage.
 * Entries older than `staleMs`, and keys never seen, need control to answer. The cache holds at
 * most `maxEntries` keys (oldest out first).
 */

export interface FallbackCacheOptions {
	/** How long an answer is used without asking again, ms. */
	freshMs: number;
	/** How long an answer may stand in while control cannot answer, ms after it was confirmed; 0: never. */
	staleMs: number;
	/** How long a request that holds an older answer waits for a new one, ms; 0: not at all (the refresh goes on behind it). */
	waitMs: number;
	maxEntries: number;
	now?: () => number;
	/** Told when the cache starts or stops answering from older answers (control down / back). */
	onOutage?: (down: boolean, err?: unknown) => void;
}

interface Entry<V> {
	value: V;
	/** When control last gave (or confirmed) this answer. */
	confirmedAt: number;
}

/** Moleculer's errors for a call that reached no one (some of them carry a 4xx code). */
const NOT_REACHED = new Set([
	"SERVICE_NOT_FOUND",
	"SERVICE_NOT_AVAILABLE",
	"REQUEST_TIMEOUT",
	"REQUEST_REJECTED",
	"REQUEST_SKIPPED",
	"CONTROL_UNAVAILABLE",
]);

/** Whether an error means "control could not answer" rather than "control said no". */
export function isControlUnreachable(err: unknown): boolean {
	const { code, type } = (err ?? {}) as { code?: unknown; type?: unknown };
	if (typeof type === "string" && NOT_REACHED.has(type)) return true;
	// Other client errors (4xx) are control's answer; anything else is its absence or failure.
	return !(typeof code === "number" && code >= 400 && code < 500);
}

export class FallbackCache<V> {
	private readonly entries = new Map<string, Entry<V>>();
	private readonly refreshing = new Map<string, Promise<V>>();
	private readonly now: () => number;
	/** Set while control is known to be down: requests do not wait for it then. */
	private down = false;

	constructor(private readonly options: FallbackCacheOptions) {
		this.now = options.now ?? Date.now;
	}

	/** The answer for `key`: cached, newly loaded, or (control unreachable) the older one. */
	async get(key: string, load: () => Promise<V>): Promise<V> {
		const entry = this.entries.get(key);
		const now = this.now();
		if (entry !== undefined && now - entry.confirmedAt < this.options.freshMs)
			return entry.value;
		const usable =
			entry !== undefined && now - entry.confirmedAt < this.options.staleMs
				? entry
				: undefined;
		const refresh = this.refresh(key, load);
		if (usable === undefined) return refresh;
		// Control's answer, if it comes soon; the older answer otherwise.
		refresh.catch(() => undefined);
		if (this.down || this.options.waitMs <= 0) return usable.value;
		let timer: NodeJS.Timeout | undefined;
		const waited = new Promise<"waited">(resolve => {
			timer = setTimeout(() => resolve("waited"), this.options.waitMs);
		});
		try {
			const answer = await Promise.race([refresh, waited]);
			if (answer !== "waited") return answer;
			// A control that does not answer in time (a frozen node) counts as down until one
			// refresh succeeds: the requests after this one do not wait for it again.
			this.outage(true, new Error(`no answer within ${this.options.waitMs} ms`));
			return usable.value;
		} catch (err) {
			if (!isControlUnreachable(err)) throw err;
			return usable.value;
		} finally {
			clearTimeout(timer);
		}
	}

	/** Forgets one key (e.g. a key the caller learnt is revoked). */
	delete(key: string): void {
		this.entries.delete(key);
	}

	get size(): number {
		return this.entries.size;
	}

	/** Whether control is known to be down (the last refresh could not reach it). */
	get controlDown(): boolean {
		return this.down;
	}

	/** One load per key at a time; its answer (or refusal) updates the entry. */
	private refresh(key: string, load: () => Promise<V>): Promise<V> {
		const running = this.refreshing.get(key);
		if (running) return running;
		const next = load().then(
			value => {
				this.set(key, value);
				this.outage(false);
				return value;
			},
			(err: unknown) => {
				if (isControlUnreachable(err)) this.outage(true, err);
				else {
					this.entries.delete(key);
					this.outage(false);
				}
				throw err;
			},
		);
		const done = next.finally(() => this.refreshing.delete(key));
		done.catch(() => undefined);
		this.refreshing.set(key, done);
		return done;
	}

	private set(key: string, value: V): void {
		this.entries.delete(key);
		if (this.entries.size >= this.options.maxEntries) {
			const oldest = this.entries.keys().next().value;
			if (oldest !== undefined) this.entries.delete(oldest);
		}
		this.entries.set(key, { value, confirmedAt: this.now() });
	}

	private outage(down: boolean, err?: unknown): void {
		if (this.down === down) return;
		this.down = down;
		this.options.onOutage?.(down, err);
	}
}
