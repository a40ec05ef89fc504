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
	/** Each tenant's quotas and until when they are trusted. */
	private readonly quotas = new Map<string, { quotas: Quotas; expiresAt: number }>();
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
			try {
				quotas = await this.options.loadQuotas(tenant);
			} catch (err) {
				// Quotas that cannot be read should not take predictions down: allowed, asked again next time.
				this.options.onError?.(err);
				return null;
			}
			this.quotas.set(tenant, { quotas, expiresAt: this.now() + this.quotaCacheMs });
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
