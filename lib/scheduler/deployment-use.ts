/**
 * What a tenant's deployments hold, for its quotas: deployments, replicas (an autoscaled one
 * counts its maximum: it may scale there on its own) and GPUs (a GPU deployment asks one per
 * replica). Pure.
 */
import type { DeploymentResources } from "./deployment-spec";

export interface DeploymentUse {
	deployments: number;
	replicas: number;
	gpus: number;
}

/** The parts of a deployment its use is counted from. */
export interface DeploymentShape {
	replicas: number;
	maxReplicas: number;
	autoscaling: unknown;
	resources: Pick<DeploymentResources, "gpus">;
}

/** One deployment's replicas and GPUs. */
export function useOf(shape: DeploymentShape): DeploymentUse {
	const replicas = shape.autoscaling
		? Math.max(shape.replicas, shape.maxReplicas)
		: shape.replicas;
	return { deployments: 1, replicas, gpus: replicas * shape.resources.gpus };
}

/** The sum over a tenant's deployments. */
export function totalUse(shapes: readonly DeploymentShape[]): DeploymentUse {
	const total: DeploymentUse = { deployments: 0, replicas: 0, gpus: 0 };
	for (const shape of shapes) {
		const use = useOf(shape);
		total.deployments += use.deployments;
		total.replicas += use.replicas;
		total.gpus += use.gpus;
	}
	return total;
}
