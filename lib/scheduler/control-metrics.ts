/**
 * The control plane's Prometheus figures, set from what the scheduler holds: per deployment the
 * replicas asked for and those ready, autoscaling decisions, the training queue, and each
 * trained model's epochs and loss (lib/metrics/node-metrics.ts names them).
 */
import type { NodeMetrics } from "../metrics/node-metrics";
import type { AutoscalingTriggered } from "./reconciler";
import type { DeploymentRecord, PlacedReplicaRow } from "./deployment-store";
import type { QueuedJob } from "./job-store";

/** Desired and ready replicas of every deployment; deleted deployments' series go. */
export function setDeploymentGauges(
	metrics: NodeMetrics,
	deployments: readonly DeploymentRecord[],
	replicas: readonly PlacedReplicaRow[],
): void {
	metrics.desiredReplicas.reset();
	metrics.readyReplicas.reset();
	for (const d of deployments) {
		const labels = { tenant: d.tenantId, model: d.model };
		metrics.desiredReplicas.set(labels, d.replicas);
		const ready = replicas.filter(r => r.deploymentId === d.id && r.state === "ready");
		metrics.readyReplicas.set(labels, ready.length);
	}
}

/** One autoscaling decision: the replica count went up or down. */
export function countAutoscaling(metrics: NodeMetrics, event: AutoscalingTriggered): void {
	const direction = event.to > event.from ? "up" : "down";
	metrics.autoscalingDecisions.inc({ tenant: event.tenant, model: event.model, direction });
}

/** Jobs queued and running now (both states always shown, 0 when none). */
export function setTrainingQueueGauges(metrics: NodeMetrics, active: readonly QueuedJob[]): void {
	const queued = active.filter(job => job.state === "queued").length;
	metrics.trainingQueueDepth.set({ state: "queued" }, queued);
	metrics.trainingQueueDepth.set({ state: "running" }, active.length - queued);
}

/** A finished epoch of a training job; its loss when the trainer reported one. */
export function countEpoch(
	metrics: NodeMetrics,
	event: { tenant: string; model: string; metrics: Record<string, number> },
): void {
	const labels = { tenant: event.tenant, model: event.model };
	metrics.trainingEpochs.inc(labels);
	const loss = event.metrics.loss;
	if (typeof loss === "number" && Number.isFinite(loss)) metrics.trainingLoss.set(labels, loss);
}
