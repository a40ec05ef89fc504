/**
 * Prediction events aggregated per tenant, model and version over an interval: a predictor
 * counts each request here and publishes one `prediction.summary` per series when the interval
 * ends — never one durable event per request. A node killed mid-interval loses that interval's
 * counts (the requests themselves were answered; their metrics are in Prometheus).
 */
import type { PredictionSummaryEvent } from "../events";

interface Series {
	tenant: string;
	model: string;
	version: string | null;
	completed: number;
	failures: Record<string, number>;
}

export class PredictionSummaries {
	private series = new Map<string, Series>();
	private from: Date;

	constructor(
		private readonly nodeID: string,
		now: Date = new Date(),
	) {
		this.from = now;
	}

	/** Counts one request: answered (failureType null) or failed with that error type. */
	record(
		tenant: string,
		model: string,
		version: string | null,
		failureType: string | null,
	): void {
		const key = JSON.stringify([tenant, model, version]);
		let series = this.series.get(key);
		if (!series) {
			series = { tenant, model, version, completed: 0, failures: {} };
			this.series.set(key, series);
		}
		if (failureType === null) series.completed += 1;
		else series.failures[failureType] = (series.failures[failureType] ?? 0) + 1;
	}

	/** The summaries of the interval that ends now (none for a quiet one), and a new interval begins. */
	drain(now: Date = new Date()): PredictionSummaryEvent[] {
		const from = this.from.toISOString();
		const to = now.toISOString();
		const events = [...this.series.values()].map(s => {
			const failed = Object.values(s.failures).reduce((sum, n) => sum + n, 0);
			return {
				nodeID: this.nodeID,
				tenant: s.tenant,
				model: s.model,
				version: s.version,
				from,
				to,
				requests: s.completed + failed,
				completed: s.completed,
				failed,
				failures: s.failures,
			};
		});
		this.series = new Map();
		this.from = now;
		return events;
	}
}
