/**
 * Steady prediction load on a gateway for cluster tests that break the fleet under it: a few
 * clients send one small infer request after another until stopped, and every answer's status
 * and time is kept, so a test can report (and assert) failures and the slowest request.
 */
import { percentile } from "../../bench/support/stats";

export interface LoadReport {
	requests: number;
	/** `<status> <body or error>` of every request that did not answer 200. */
	failures: string[];
	maxMs: number;
	p50Ms: number;
	p99Ms: number;
	/** Requests over `slowMs`: when they started relative to the load's start, and how long they took. */
	slow: string[];
	/** One line for the test's output. */
	summary: string;
}

export class PredictLoad {
	private readonly latencies: number[] = [];
	private readonly failures: string[] = [];
	private readonly slow: string[] = [];
	private running = true;
	private readonly startedAt = performance.now();
	private readonly clients: Promise<void>[];

	/** Starts `clients` loops of `POST <base>/v2/models/<model>/infer` with `key`. */
	constructor(
		private readonly base: string,
		private readonly key: string,
		private readonly model: string,
		clients: number,
		private readonly slowMs = 500,
	) {
		this.clients = Array.from({ length: clients }, () => this.client());
	}

	/** Requests answered so far. */
	get count(): number {
		return this.latencies.length;
	}

	/** Stops the clients, waits for their last requests and reports. */
	async stop(label: string): Promise<LoadReport> {
		this.running = false;
		await Promise.all(this.clients);
		const maxMs = Math.max(0, ...this.latencies);
		const p50Ms = percentile(this.latencies, 50);
		const p99Ms = percentile(this.latencies, 99);
		return {
			requests: this.latencies.length,
			failures: this.failures,
			maxMs,
			p50Ms,
			p99Ms,
			slow: this.slow,
			summary:
				`${label}: ${this.latencies.length} requests, ${this.failures.length} failed; latency p50 ` +
				`${p50Ms.toFixed(1)} ms, p99 ${p99Ms.toFixed(1)} ms, max ${maxMs.toFixed(1)} ms; over ` +
				`${this.slowMs} ms (started at: took): ${this.slow.join(", ") || "none"}`,
		};
	}

	private async client(): Promise<void> {
		while (this.running) {
			const started = performance.now();
			let failure: string | null = null;
			try {
				const response = await fetch(`${this.base}/v2/models/${this.model}/infer`, {
					method: "POST",
					headers: {
						authorization: `Bearer ${this.key}`,
						"content-type": "application/json",
					},
					body: JSON.stringify({
						inputs: [
							{ name: "x", datatype: "FP32", shape: [1, 4], data: [1, 2, 3, 4] },
						],
					}),
				});
				const text = await response.text();
				if (response.status !== 200) failure = `${response.status} ${text.slice(0, 300)}`;
			} catch (err) {
				failure = `error ${(err as Error).message}`;
			}
			const ms = performance.now() - started;
			this.latencies.push(ms);
			if (failure !== null) this.failures.push(failure);
			if (ms > this.slowMs)
				this.slow.push(`${(started - this.startedAt).toFixed(0)} ms: ${ms.toFixed(0)} ms`);
		}
	}
}
