/**
 * The trainer's Prometheus metrics, per tenant: jobs finished by outcome, epochs run by device,
 * and the samples per second of the last epoch. Labelled by tenant and device only — model
 * names are the tenants' to choose, and every label set is a series Prometheus keeps.
 */
import type { MetricRegistry } from "moleculer";

export const TRAINING_METRICS = {
	/** Jobs that ended on this node, by outcome (completed, failed). */
	jobsFinished: "modelfleet.training.jobs.finished",
	/** Epochs run on this node. */
	epochs: "modelfleet.training.epochs",
	/** Samples per second of the latest epoch of the tenant's jobs on this node. */
	samplesPerSecond: "modelfleet.training.samples.per.second",
} as const;

export type TrainingOutcome = "completed" | "failed";

export function registerTrainingMetrics(metrics: MetricRegistry): void {
	metrics.register({
		type: "counter",
		name: TRAINING_METRICS.jobsFinished,
		description: "Training jobs that ended on this node",
		labelNames: ["tenant", "outcome"],
	});
	metrics.register({
		type: "counter",
		name: TRAINING_METRICS.epochs,
		description: "Training epochs run on this node",
		labelNames: ["tenant", "device"],
	});
	metrics.register({
		type: "gauge",
		name: TRAINING_METRICS.samplesPerSecond,
		description: "Samples per second of the latest training epoch",
		labelNames: ["tenant", "device"],
	});
}

/** What a running job reports to the metrics: its epochs and how it ended. */
export interface TrainingMetricsRecorder {
	epoch(samplesPerSecond: number): void;
	finished(outcome: TrainingOutcome): void;
}

/** The recorder of one job of `tenant` on `device` (set once the backend is known). */
export function trainingMetricsFor(
	metrics: MetricRegistry,
	tenant: string,
): TrainingMetricsRecorder & { device(name: string): void } {
	let device = "unknown";
	return {
		device: name => {
			device = name;
		},
		epoch: samplesPerSecond => {
			metrics.increment(TRAINING_METRICS.epochs, { tenant, device });
			metrics.set(TRAINING_METRICS.samplesPerSecond, samplesPerSecond, { tenant, device });
		},
		finished: outcome => metrics.increment(TRAINING_METRICS.jobsFinished, { tenant, outcome }),
	};
}
