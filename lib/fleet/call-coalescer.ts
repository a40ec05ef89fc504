/**
 * Coalescing of concurrent calls that go the same way (issue 13): items submitted under one key
 * while that key already has calls out travel together as one call, and each caller gets its
 * own answer or its own error back. A key with nothing out sends a lone item at once, alone, so
 * a request that finds the way idle waits for nothing; only while `maxInFlight` calls of the
 * key are out do items queue, until one of them answers, the queue reaches its row or byte
 * bound, or the oldest item has waited `maxWaitMicros`.
 *
 * Only for calls that are safe to repeat: a group is one call, and a retried group runs each of
 * its items again (never one item twice within a group, and never an item in two groups).
 */

/** One item's outcome in a group's answer, in the order the items were sent. */
export type Settled<R> = { ok: true; value: R } | { ok: false; error: unknown };

export interface CoalescerOptions {
	/** Most rows a group carries; an item with more travels alone. */
	maxRows: number;
	/** Most bytes (as `submit` estimates them) a group carries; a larger item travels alone. */
	maxBytes: number;
	/**
	 * Longest an item waits in the queue, µs, while the key's calls are all out (timers fire at
	 * millisecond granularity, so values under 1,000 wait at most about 1 ms).
	 */
	maxWaitMicros: number;
	/** Calls of one key out at once before items queue; at least 1. */
	maxInFlight: number;
}

export interface CoalescerTransport<I, R> {
	/** Sends one item the ordinary way. */
	one(item: I): Promise<R>;
	/** Sends items of one key as one call; resolves with one outcome per item, in order. */
	many(items: readonly I[]): Promise<ReadonlyArray<Settled<R>>>;
}

export interface CoalescerStats {
	/** Calls sent (lone items and groups). */
	calls: number;
	/** Of those, groups of two items or more. */
	groups: number;
	/** Items submitted. */
	items: number;
}

interface Waiting<I, R> {
	item: I;
	rows: number;
	bytes: number;
	resolve(value: R): void;
	reject(error: unknown): void;
}

interface KeyState<I, R> {
	inFlight: number;
	queue: Array<Waiting<I, R>>;
	rows: number;
	bytes: number;
	/** The pending flush: a timer (the wait bound) or an immediate (the end of this turn). */
	timer:
		| { kind: "timeout"; handle: NodeJS.Timeout }
		| { kind: "immediate"; handle: NodeJS.Immediate }
		| null;
}

export class CallCoalescer<I, R> {
	private readonly keys = new Map<string, KeyState<I, R>>();
	private readonly counts: CoalescerStats = { calls: 0, groups: 0, items: 0 };
	private readonly options: Readonly<CoalescerOptions>;

	constructor(
		options: CoalescerOptions,
		private readonly transport: CoalescerTransport<I, R>,
	) {
		this.options = { ...options, maxInFlight: Math.max(1, Math.floor(options.maxInFlight)) };
	}

	/** What was sent so far (for metrics and tests). */
	stats(): CoalescerStats {
		return { ...this.counts };
	}

	/**
	 * Sends `item` under `key`, alone or with others of the same key; resolves or rejects with
	 * its own outcome. `rows` and `bytes` are its size against the group bounds.
	 */
	submit(key: string, item: I, rows: number, bytes: number): Promise<R> {
		this.counts.items++;
		let state = this.keys.get(key);
		if (state === undefined) {
			state = { inFlight: 0, queue: [], rows: 0, bytes: 0, timer: null };
			this.keys.set(key, state);
		}
		const big = rows >= this.options.maxRows || bytes >= this.options.maxBytes;
		if (big || (state.inFlight < this.options.maxInFlight && state.queue.length === 0)) {
			return this.sendOne(key, state, item);
		}
		return new Promise<R>((resolve, reject) => {
			const s = state as KeyState<I, R>;
			if (s.rows + rows > this.options.maxRows || s.bytes + bytes > this.options.maxBytes) {
				this.flush(key, s);
			}
			s.queue.push({ item, rows, bytes, resolve, reject });
			s.rows += rows;
			s.bytes += bytes;
			if (s.rows >= this.options.maxRows || s.bytes >= this.options.maxBytes) {
				this.flush(key, s);
			} else if (s.inFlight < this.options.maxInFlight) {
				// Room for a call: send what arrived in this turn of the event loop together.
				this.arm(key, s, 0);
			} else {
				this.arm(key, s, Math.max(1, Math.ceil(this.options.maxWaitMicros / 1000)));
			}
		});
	}

	private arm(key: string, state: KeyState<I, R>, ms: number): void {
		if (state.timer !== null) return;
		state.timer =
			ms === 0
				? { kind: "immediate", handle: setImmediate(() => this.flush(key, state)) }
				: { kind: "timeout", handle: setTimeout(() => this.flush(key, state), ms).unref() };
	}

	private sendOne(key: string, state: KeyState<I, R>, item: I): Promise<R> {
		state.inFlight++;
		this.counts.calls++;
		let call: Promise<R>;
		try {
			call = this.transport.one(item);
		} catch (err) {
			call = Promise.reject(err);
		}
		return call.finally(() => this.settled(key, state));
	}

	/** Sends the queue of `key` now (alone when it holds one item). */
	private flush(key: string, state: KeyState<I, R>): void {
		if (state.timer !== null) {
			if (state.timer.kind === "timeout") clearTimeout(state.timer.handle);
			else clearImmediate(state.timer.handle);
			state.timer = null;
		}
		const queue = state.queue;
		if (queue.length === 0) return;
		state.queue = [];
		state.rows = 0;
		state.bytes = 0;
		if (queue.length === 1) {
			const only = queue[0];
			this.sendOne(key, state, only.item).then(only.resolve, only.reject);
			return;
		}
		state.inFlight++;
		this.counts.calls++;
		this.counts.groups++;
		let call: Promise<ReadonlyArray<Settled<R>>>;
		try {
			call = this.transport.many(queue.map(w => w.item));
		} catch (err) {
			call = Promise.reject(err);
		}
		call.then(
			outcomes => {
				for (let i = 0; i < queue.length; i++) {
					const outcome = outcomes[i];
					if (outcome === undefined) {
						queue[i].reject(
							new Error("The coalesced call answered fewer items than it was sent."),
						);
					} else if (outcome.ok) queue[i].resolve(outcome.value);
					else queue[i].reject(outcome.error);
				}
				this.settled(key, state);
			},
			err => {
				// The group as a whole failed (its node vanished, a timeout): every item hears it.
				for (const waiting of queue) waiting.reject(err);
				this.settled(key, state);
			},
		);
	}

	/** A call of `key` ended: send what queued meanwhile, or forget an idle key. */
	private settled(key: string, state: KeyState<I, R>): void {
		state.inFlight--;
		if (state.queue.length > 0) this.flush(key, state);
		else if (state.inFlight === 0 && this.keys.get(key) === state) this.keys.delete(key);
	}
}
