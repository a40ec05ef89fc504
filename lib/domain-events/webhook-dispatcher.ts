/**
 * The outbox's sender: every poll it claims due deliveries (webhook-store.ts), signs and sends
 * each (webhook-sender.ts), and records the outcome — delivered, retried later with exponential
 * backoff and jitter, or dead-lettered once its retry period is over. It runs wherever the events
 * service runs; claims keep several control nodes from sending one attempt twice.
 */
import type { ResolveHost } from "./webhook-target";
import {
	retryDelayMs,
	sendWebhook,
	signedHeaders,
	type AttemptOutcome,
	type RetryPolicy,
} from "./webhook-sender";
import type { DueDelivery, WebhookStore } from "./webhook-store";

export interface WebhookDispatcherOptions {
	retry: RetryPolicy;
	/** How long one attempt may wait for the receiver's answer. */
	timeoutMs: number;
	/** Whether targets on loopback and private addresses are allowed. */
	allowPrivate: boolean;
	/** How often due deliveries are looked for. */
	pollMs: number;
	/** Deliveries sent at once. */
	concurrency: number;
	resolve?: ResolveHost;
	warn?: (message: string) => void;
	now?: () => Date;
}

export class WebhookDispatcher {
	private timer: NodeJS.Timeout | null = null;
	private running: Promise<void> | null = null;
	private stopped = false;
	private readonly now: () => Date;

	constructor(
		private readonly store: WebhookStore,
		private readonly options: WebhookDispatcherOptions,
	) {
		this.now = options.now ?? (() => new Date());
	}

	start(): void {
		this.stopped = false;
		this.schedule(0);
	}

	/** Asks for a pass soon (a delivery was just queued). */
	nudge(): void {
		if (this.stopped || this.running) return;
		this.schedule(0);
	}

	async stop(): Promise<void> {
		this.stopped = true;
		if (this.timer) clearTimeout(this.timer);
		this.timer = null;
		await this.running;
	}

	private schedule(ms: number): void {
		if (this.stopped) return;
		if (this.timer) clearTimeout(this.timer);
		this.timer = setTimeout(() => {
			this.timer = null;
			this.running = this.pass()
				.then(() => undefined)
				.catch(err => this.options.warn?.(`Webhook pass failed: ${(err as Error).message}`))
				.finally(() => {
					this.running = null;
					this.schedule(this.options.pollMs);
				});
		}, ms);
		this.timer.unref();
	}

	/** Sends what is due, batch after batch, until nothing is. */
	async pass(): Promise<number> {
		let sent = 0;
		// Longer than an attempt can take; a sender killed mid-attempt holds its claim this long.
		const leaseMs = 2 * this.options.timeoutMs + 5000;
		while (!this.stopped) {
			const due = await this.store.claimDue(this.options.concurrency, leaseMs);
			if (due.length === 0) break;
			await Promise.all(due.map(d => this.attempt(d)));
			sent += due.length;
		}
		return sent;
	}

	private async attempt(delivery: DueDelivery): Promise<void> {
		const at = this.now();
		const body = JSON.stringify(delivery.envelope);
		let outcome: AttemptOutcome;
		try {
			outcome = await sendWebhook(
				delivery.url,
				signedHeaders(delivery.secret, delivery.envelope.id, body, at),
				body,
				{
					timeoutMs: this.options.timeoutMs,
					allowPrivate: this.options.allowPrivate,
					...(this.options.resolve ? { resolve: this.options.resolve } : {}),
				},
			);
		} catch (err) {
			outcome = { ok: false, status: null, latencyMs: 0, error: (err as Error).message };
		}
		let retryAt: Date | null = null;
		if (!outcome.ok) {
			const next = new Date(
				this.now().getTime() + retryDelayMs(delivery.attempts + 1, this.options.retry),
			);
			retryAt = next <= delivery.retryUntil ? next : null;
			if (retryAt === null)
				this.options.warn?.(
					`Webhook delivery ${delivery.id} (event ${delivery.envelope.id}) dead-lettered after ${delivery.attempts + 1} attempts: ${outcome.error}`,
				);
		}
		await this.store.recordAttempt(delivery.id, outcome, at, retryAt);
	}
}
