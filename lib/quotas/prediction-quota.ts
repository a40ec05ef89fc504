/**
 * The rate quotas on the predict path (predictions per minute and per day), cheap enough for
 * every request: the decision is made from what this gateway knows — the total every gateway
 * had reported at the last reconciliation plus what it counted itself since — with no I/O. A
 * timer reconciles every `syncMs`: each gateway adds what it counted to the shared total
 * (Redis, the same server as the rate limits) and reads it back. Several gateways may together
 * overshoot a limit by what the others admitted within one reconciliation interval.
 *
 * Tenants' limits come from accounts and are kept `quotaCacheMs`; a tenant without rate quotas
 * costs one map lookup.
 */
import {
	decideRate,
	rateWindow,
	RATE_QUOTAS,
	RATE_WINDOWS_MS,
	type QuotaRefusal,
	type RateQuota,
} from "./quota-decision";
import type { Quotas } from "./quota-spec";
import type { SharedCount } from "./shared-count";

export interface PredictionQuotaOptions {
	/** A tenant's quotas (accounts.quotas.ofTenant). */
	loadQuotas(tenant: string): Promise<Quotas>;
	/** Where the gateways add up their counts. */
	shared: SharedCount;
	/** How long a tenant's quotas are trusted before asking again, ms. Default 10 000. */
	quotaCacheMs?: number;
	/** How often the counts are reconciled with the other gateways, ms. Default 1000. */
	syncMs?: number;
	/**
	 * While accounts cannot answer (no control node), how long a tenant's quotas keep applying
	 * after they were last read, ms (MODELFLEET_CONTROL_OUTAGE_S). With it, quotas past
	 * `quotaCacheMs` are read again behind the request, which is decided on the ones held.
	 * Default 0: a request waits for accounts whenever the cached quotas are old.
	 */
	controlOutageMs?: number;
	/**
	 * How long a request waits for accounts to read quotas, ms; past it the request is allowed
	 * (the read goes on behind it). Default: as long as the call takes.
	 */
	controlWaitMs?: number;
	/** Told once per tenant, quota and window when a request is first refused (the domain event). */
	onExceeded?(tenant: string, refusal: QuotaRefusal): void;
	/** Told when the shared store fails (requests are still decided on what is known). */
	onError?(err: unknown): void;
	now?: () => number;
}

interface WindowCount {
	index: number;
	/** The total over every gateway at the last reconciliation (ours included). */
	shared: number;
	/** Admitted here since the last reconciliation. */
	unsynced: number;
	/** Whether the refusal of this window was reported. */
	reported: boolean;
}

export class PredictionQuota {
	/** Each tenant's quotas, until when they are trusted, and when accounts last gave them. */
	private readonly quotas = new Map<
		string,
		{ quotas: Quotas; expiresAt: number; loadedAt: number }
	>();
	/** One read of a tenant's quotas at a time: its answer (null when it failed). */
	private readonly reading = new Map<string, Promise<Quotas | null>>();
	private readonly quotaCacheMs: number;
	private readonly counts = new Map<string, WindowCount>();
	private readonly now: () => number;
	private timer: NodeJS.Timeout | null = null;
	private syncing: Promise<void> | null = null;

	constructor(private readonly options: PredictionQuotaOptions) {
		this.quotaCacheMs = options.quotaCacheMs ?? 10_000;
		this.now = options.now ?? Date.now;
	}

	/** Starts reconciling with the other gateways. */
	start(): void {
		if (this.timer !== null) return;
		this.timer = setInterval(() => void this.sync(), this.options.syncMs ?? 1000);
		this.timer.unref();
	}

	/**
	 * Counts one prediction request of `tenant`, or answers the refusal of the first rate quota
	 * it would exceed (nothing is counted then). Asks accounts only when the tenant's quotas are
	 * not cached.
	 */
	async admit(tenant: string): Promise<QuotaRefusal | null> {
		const cached = this.quotas.get(tenant);
		let quotas: Quotas;
		if (cached !== undefined && cached.expiresAt > this.now()) quotas = cached.quotas;
		else {
			const read = this.read(tenant);
			const outageMs = this.options.controlOutageMs ?? 0;
			if (cached !== undefined && this.now() - cached.loadedAt < outageMs)
				quotas = cached.quotas;
			else {
				// Quotas that cannot be read (in time) should not take predictions down: allowed.
				const answer = await this.within(read);
				if (answer === null) return null;
				quotas = answer;
			}
		}
		if (quotas.predictionsPerMinute === undefined && quotas.predictionsPerDay === undefined)
			return null;
		const now = this.now();
		const windows: WindowCount[] = [];
		for (const quota of RATE_QUOTAS) {
			if (quotas[quota] === undefined) continue;
			const count = this.windowOf(tenant, quota, now);
			const refusal = decideRate(quotas, quota, count.shared + count.unsynced, now);
			if (refusal !== null) {
				if (!count.reported) {
					count.reported = true;
					this.options.onExceeded?.(tenant, refusal);
				}
				return refusal;
			}
			windows.push(count);
		}
		for (const count of windows) count.unsynced += 1;
		return null;
	}

	/** Adds what this gateway counted to the shared totals, and reads them back. */
	sync(): Promise<void> {
		this.syncing ??= this.syncOnce().finally(() => {
			this.syncing = null;
		});
		return this.syncing;
	}

	async close(): Promise<void> {
		if (this.timer !== null) clearInterval(this.timer);
		this.timer = null;
		await this.syncing;
		await this.options.shared.close();
	}

	/** Reads a tenant's quotas from accounts (one read at a time); null when it failed. */
	private read(tenant: string): Promise<Quotas | null> {
		let reading = this.reading.get(tenant);
		if (reading === undefined) {
			reading = this.options
				.loadQuotas(tenant)
				.then(
					quotas => {
						const now = this.now();
						this.quotas.set(tenant, {
							quotas,
							expiresAt: now + this.quotaCacheMs,
							loadedAt: now,
						});
						return quotas;
					},
					(err: unknown) => {
						this.options.onError?.(err);
						return null;
					},
				)
				.finally(() => this.reading.delete(tenant));
			this.reading.set(tenant, reading);
		}
		return reading;
	}

	/** `read`'s answer, or null once `controlWaitMs` has passed without one. */
	private async within(read: Promise<Quotas | null>): Promise<Quotas | null> {
		const waitMs = this.options.controlWaitMs;
		if (waitMs === undefined) return read;
		let timer: NodeJS.Timeout | undefined;
		const late = new Promise<null>(resolve => {
			timer = setTimeout(() => resolve(null), waitMs);
		});
		try {
			return await Promise.race([read, late]);
		} finally {
			clearTimeout(timer);
		}
	}

	private windowOf(tenant: string, quota: RateQuota, now: number): WindowCount {
		const key = `${tenant}:${quota}`;
		const { index } = rateWindow(quota, now);
		let count = this.counts.get(key);
		if (count === undefined || count.index !== index) {
			count = { index, shared: 0, unsynced: 0, reported: false };
			this.counts.set(key, count);
		}
		return count;
	}

	private async syncOnce(): Promise<void> {
		const now = this.now();
		for (const [key, count] of [...this.counts]) {
			const quota = key.slice(key.lastIndexOf(":") + 1) as RateQuota;
			// A window that has ended is done with: its count no longer decides anything.
			if (rateWindow(quota, now).index !== count.index) {
				this.counts.delete(key);
				continue;
			}
			const delta = count.unsynced;
			try {
				const total = await this.options.shared.add(
					`${count.index}:${key}`,
					delta,
					RATE_WINDOWS_MS[quota] + 60_000,
				);
				count.unsynced -= delta;
				count.shared = Math.max(count.shared + delta, total);
			} catch (err) {
				this.options.onError?.(err);
			}
		}
	}
}
