import { NodeMetrics } from "../../../lib/metrics/node-metrics";
import {
	countAutoscaling,
	countEpoch,
	setDeploymentGauges,
	setTrainingQueueGauges,
} from "../../../lib/scheduler/control-metrics";
import type { DeploymentRecord } from "../../../lib/scheduler/deployment-store";
import type { QueuedJob } from "../../../lib/scheduler/job-store";

async function samples(metrics: NodeMetrics, name: string) {
	return (await metrics.registry.getSingleMetric(name)!.get()).values.map(v => ({
		labels: v.labels,
		value: v.value,
	}));
}

describe("the control plane's metrics", () => {
	it("show each deployment's desired and ready replicas, and drop deleted deployments", async () => {
		const metrics = new NodeMetrics();
		const d = (id: string, model: string, replicas: number) =>
			({ id, tenantId: "t", model, replicas }) as DeploymentRecord;
		setDeploymentGauges(metrics, [d("1", "a", 3), d("2", "b", 1)], [
			{ deploymentId: "1", nodeID: "w1", gpuIndex: null, state: "ready" },
			{ deploymentId: "1", nodeID: "w2", gpuIndex: null, state: "loading" },
		] as never);
		expect(await samples(metrics, "modelfleet_deployment_desired_replicas")).toEqual([
			{ labels: { tenant: "t", model: "a" }, value: 3 },
			{ labels: { tenant: "t", model: "b" }, value: 1 },
		]);
		expect(await samples(metrics, "modelfleet_deployment_ready_replicas")).toEqual([
			{ labels: { tenant: "t", model: "a" }, value: 1 },
			{ labels: { tenant: "t", model: "b" }, value: 0 },
		]);
		setDeploymentGauges(metrics, [d("2", "b", 1)], []);
		expect(await samples(metrics, "modelfleet_deployment_desired_replicas")).toEqual([
			{ labels: { tenant: "t", model: "b" }, value: 1 },
		]);
	});

	it("count autoscaling decisions by direction, epochs, and keep the latest loss", async () => {
		const metrics = new NodeMetrics();
		const scale = (from: number, to: number) =>
			countAutoscaling(metrics, {
				tenant: "t",
				model: "a",
				deploymentId: "1",
				from,
				to,
				reason: "",
			});
		scale(1, 3);
		scale(3, 4);
		scale(4, 2);
		expect(await samples(metrics, "modelfleet_autoscaling_decisions_total")).toEqual([
			{ labels: { tenant: "t", model: "a", direction: "up" }, value: 2 },
			{ labels: { tenant: "t", model: "a", direction: "down" }, value: 1 },
		]);
		countEpoch(metrics, { tenant: "t", model: "m", metrics: { loss: 0.9 } });
		countEpoch(metrics, { tenant: "t", model: "m", metrics: { loss: 0.4, accuracy: 0.8 } });
		expect(await samples(metrics, "modelfleet_training_epochs_total")).toEqual([
			{ labels: { tenant: "t", model: "m" }, value: 2 },
		]);
		expect(await samples(metrics, "modelfleet_training_loss")).toEqual([
			{ labels: { tenant: "t", model: "m" }, value: 0.4 },
		]);
	});

	it("show queued and running training jobs", async () => {
		const metrics = new NodeMetrics();
		const job = (state: string) => ({ state }) as QueuedJob;
		setTrainingQueueGauges(metrics, [job("queued"), job("queued"), job("running")]);
		expect(await samples(metrics, "modelfleet_training_queue_depth")).toEqual([
			{ labels: { state: "queued" }, value: 2 },
			{ labels: { state: "running" }, value: 1 },
		]);
	});
});
