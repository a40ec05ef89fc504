import { NodeMetrics } from "../../../lib/metrics/node-metrics";
import { trainingMetricsFor } from "../../../lib/training/training-metrics";

describe("training metrics", () => {
	const metrics = new NodeMetrics();
	const sample = async (name: string, labels: Record<string, string>) =>
		(await metrics.registry.getSingleMetric(name)?.get())?.values.find(v =>
			Object.entries(labels).every(([k, l]) => v.labels[k] === l),
		)?.value;

	it("count each tenant's epochs and finished jobs in series of their own", async () => {
		const a = trainingMetricsFor(metrics, "tenant-a");
		const b = trainingMetricsFor(metrics, "tenant-b");
		a.device("cpu");
		b.device("cpu");
		a.epoch(1000);
		a.epoch(1200);
		b.epoch(500);
		a.finished("completed");
		b.finished("failed");

		const epochs = "modelfleet_trainer_epochs_total";
		const finished = "modelfleet_trainer_jobs_finished_total";
		expect(await sample(epochs, { tenant: "tenant-a", device: "cpu" })).toBe(2);
		expect(await sample(epochs, { tenant: "tenant-b", device: "cpu" })).toBe(1);
		expect(
			await sample("modelfleet_trainer_samples_per_second", {
				tenant: "tenant-a",
				device: "cpu",
			}),
		).toBe(1200);
		expect(await sample(finished, { tenant: "tenant-a", outcome: "completed" })).toBe(1);
		expect(await sample(finished, { tenant: "tenant-b", outcome: "failed" })).toBe(1);
		expect(
			await sample(finished, { tenant: "tenant-b", outcome: "completed" }),
		).toBeUndefined();
	});
});
