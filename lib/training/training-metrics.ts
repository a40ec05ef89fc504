/**
 * The trainer node's own Prometheus figures, per tenant: jobs finished by outcome, epochs run by
 * device, and the samples per second of the last epoch (`modelfleet_trainer_*` in
 * lib/metrics/node-metrics.ts; the control plane's per-model view is `modelfleet_training_*`).
 * Labelled by tenant and device only — model names are the tenants' to choose, and every label
 * set is a series Prometheus keeps.
 */
import type { NodeMetrics } from "../metrics/node-metrics";

export type TrainingOutcome = "completed" | "failed";

/** What a running job reports to the metrics: its epochs and how it ended. */
export interface TrainingMetricsRecorder {
	epoch(samplesPerSecond: number): void;
	finished(outcome: TrainingOutcome): void;
}

/** The recorder of one job of `tenant` on `device` (set once the backend is known). */
export function trainingMetricsFor(
	metrics: NodeMetrics,
	tenant: string,
): TrainingMetricsRecorder & { device(name: string): void } {
	let device = "unknown";
	return {
		device: name => {
			device = name;
		},
		epoch: samplesPerSecond => {
			metrics.trainerEpochs.inc({ tenant, device });
			metrics.trainerSamplesPerSecond.set({ tenant, device }, samplesPerSecond);
		},
		finished: outcome => metrics.trainerJobsFinished.inc({ tenant, outcome }),
	};
}
