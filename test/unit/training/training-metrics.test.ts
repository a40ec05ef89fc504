import { ServiceBroker } from "moleculer";
import {
	TRAINING_METRICS,
	registerTrainingMetrics,
	trainingMetricsFor,
} from "../../../lib/training/training-metrics";

describe("training metrics", () => {
	const broker = new ServiceBroker({ logger: false, metrics: { enabled: true } });
	registerTrainingMetrics(broker.metrics);
	const value = (name: string, labels: Record<string, string>) =>
		broker.metrics.getMetric(name)?.get(labels)?.value;

	it("count each tenant's epochs and finished jobs in series of their own", () => {
		const a = trainingMetricsFor(broker.metrics, "tenant-a");
		const b = trainingMetricsFor(broker.metrics, "tenant-b");
		a.device("cpu");
		b.device("cpu");
		a.epoch(1000);
		a.epoch(1200);
		b.epoch(500);
		a.finished("completed");
		b.finished("failed");

		expect(value(TRAINING_METRICS.epochs, { tenant: "tenant-a", device: "cpu" })).toBe(2);
		expect(value(TRAINING_METRICS.epochs, { tenant: "tenant-b", device: "cpu" })).toBe(1);
		expect(
			value(TRAINING_METRICS.samplesPerSecond, { tenant: "tenant-a", device: "cpu" }),
		).toBe(1200);
		expect(
			value(TRAINING_METRICS.jobsFinished, { tenant: "tenant-a", outcome: "completed" }),
		).toBe(1);
		expect(
			value(TRAINING_METRICS.jobsFinished, { tenant: "tenant-b", outcome: "failed" }),
		).toBe(1);
		expect(
			value(TRAINING_METRICS.jobsFinished, { tenant: "tenant-b", outcome: "completed" }),
		).toBeUndefined();
	});
});
