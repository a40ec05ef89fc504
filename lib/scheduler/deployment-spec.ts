/**
 * What a deployment asks for — the shapes the scheduler's actions take and store, their
 * validation schemas (the actions' own, so the gateway and OpenAPI share them) and defaults.
 */
import type { BatchingOptions } from "../batching/batching-options";
import { InvalidInputError } from "../errors";
import { MONITORING_RULE, type MonitoringInput } from "../monitoring/monitoring-spec";
import { validateTraffic } from "../routing/traffic-split";

/** Resources one replica needs on its node. */
export interface DeploymentResources {
	/** Model memory on the node; null: derived from the versions' artifact sizes. */
	memoryBytes: number | null;
	/** CPU share in cores; 0: no reservation. */
	cpu: number;
	/** 1: a whole GPU of its own. */
	gpus: 0 | 1;
	/** Memory on one (shared) GPU; 0: none. */
	gpuMemoryBytes: number;
}

/** Ray Serve's autoscaling signal: ongoing (running + queued) requests per replica. */
export interface DeploymentAutoscaling {
	targetOngoingRequests: number;
	upscaleDelayS: number;
	downscaleDelayS: number;
}

/** One version receiving a share of the deployment's traffic. */
export interface TrafficEntry {
	versionId: string;
	/** The exact version string (1.2.0). */
	version: string;
	weight: number;
}

/** A version that gets a copy of every request; its answers are dropped, its metrics kept. */
export interface ShadowTarget {
	versionId: string;
	version: string;
}

export const DEFAULT_RESOURCES: DeploymentResources = {
	memoryBytes: null,
	cpu: 0,
	gpus: 0,
	gpuMemoryBytes: 0,
};

export const DEFAULT_AUTOSCALING: DeploymentAutoscaling = {
	targetOngoingRequests: 2,
	upscaleDelayS: 3,
	downscaleDelayS: 30,
};

/** The largest replica count one deployment may ask for. */
export const MAX_REPLICAS = 64;

const resourcesSchema = {
	type: "object",
	optional: true,
	strict: "remove",
	props: {
		memoryBytes: { type: "number", integer: true, min: 1, optional: true, nullable: true },
		cpu: { type: "number", min: 0, max: 1024, optional: true },
		gpus: { type: "number", integer: true, min: 0, max: 1, optional: true },
		gpuMemoryBytes: { type: "number", integer: true, min: 0, optional: true },
	},
} as const;

const batchingSchema = {
	type: "object",
	optional: true,
	strict: "remove",
	props: {
		enabled: { type: "boolean", optional: true },
		maxBatchSize: { type: "number", integer: true, min: 1, max: 65536, optional: true },
		maxQueueDelayMicros: {
			type: "number",
			integer: true,
			min: 0,
			max: 10_000_000,
			optional: true,
		},
		maxQueueSize: { type: "number", integer: true, min: 1, max: 1_000_000, optional: true },
	},
} as const;

const autoscalingSchema = {
	type: "object",
	optional: true,
	nullable: true,
	strict: "remove",
	props: {
		targetOngoingRequests: { type: "number", min: 0.1, max: 100_000, optional: true },
		upscaleDelayS: { type: "number", min: 0, max: 3600, optional: true },
		downscaleDelayS: { type: "number", min: 0, max: 86_400, optional: true },
	},
} as const;

const trafficSchema = {
	type: "array",
	optional: true,
	min: 1,
	max: 8,
	items: {
		type: "object",
		strict: "remove",
		props: {
			version: { type: "string", min: 1, max: 128 },
			weight: { type: "number", min: 0, max: 100 },
		},
	},
} as const;

const replicaCount = { type: "number", integer: true, min: 0, max: MAX_REPLICAS, optional: true };

/** `scheduler.deployments.create`: the model (its name or `name@alias`) and how to serve it. */
export const CREATE_DEPLOYMENT_PARAMS = {
	model: { type: "string", min: 1, max: 256 },
	/** The version to serve (default: what `model` names — its alias, or the latest). */
	version: { type: "string", min: 1, max: 128, optional: true },
	replicas: replicaCount,
	minReplicas: replicaCount,
	maxReplicas: replicaCount,
	resources: resourcesSchema,
	batching: batchingSchema,
	autoscaling: autoscalingSchema,
	/** Several versions with weights (canary / A/B); replaces `version`. */
	traffic: trafficSchema,
	shadow: { type: "string", min: 1, max: 128, optional: true },
	/** Payload capture, drift, latency SLO and accuracy margin (docs/monitoring.md). */
	monitoring: MONITORING_RULE,
} as const;

/** `scheduler.deployments.update`: what changes; omitted fields keep their value. */
export const UPDATE_DEPLOYMENT_PARAMS = {
	model: { type: "string", min: 1, max: 256 },
	replicas: replicaCount,
	minReplicas: replicaCount,
	maxReplicas: replicaCount,
	resources: resourcesSchema,
	batching: batchingSchema,
	autoscaling: autoscalingSchema,
	traffic: trafficSchema,
	/** A version to mirror traffic to; null stops mirroring. */
	shadow: { type: "string", min: 1, max: 128, optional: true, nullable: true },
	monitoring: MONITORING_RULE,
} as const;

export interface ResourcesInput {
	memoryBytes?: number | null;
	cpu?: number;
	gpus?: number;
	gpuMemoryBytes?: number;
}

export interface AutoscalingInput {
	targetOngoingRequests?: number;
	upscaleDelayS?: number;
	downscaleDelayS?: number;
}

export interface TrafficInput {
	version: string;
	weight: number;
}

export interface CreateDeploymentParams {
	model: string;
	version?: string;
	replicas?: number;
	minReplicas?: number;
	maxReplicas?: number;
	resources?: ResourcesInput;
	batching?: Partial<BatchingOptions>;
	autoscaling?: AutoscalingInput | null;
	traffic?: TrafficInput[];
	shadow?: string;
	monitoring?: MonitoringInput;
}

export interface UpdateDeploymentParams {
	model: string;
	replicas?: number;
	minReplicas?: number;
	maxReplicas?: number;
	resources?: ResourcesInput;
	batching?: Partial<BatchingOptions>;
	autoscaling?: AutoscalingInput | null;
	traffic?: TrafficInput[];
	shadow?: string | null;
	monitoring?: MonitoringInput;
}

export function resolveResources(
	input: ResourcesInput | undefined,
	base: DeploymentResources = DEFAULT_RESOURCES,
): DeploymentResources {
	if (input === undefined) return base;
	const gpus = input.gpus ?? base.gpus;
	return {
		memoryBytes: input.memoryBytes !== undefined ? input.memoryBytes : base.memoryBytes,
		cpu: input.cpu ?? base.cpu,
		gpus: gpus >= 1 ? 1 : 0,
		gpuMemoryBytes: input.gpuMemoryBytes ?? base.gpuMemoryBytes,
	};
}

export function resolveAutoscaling(
	input: AutoscalingInput | null | undefined,
	base: DeploymentAutoscaling | null,
): DeploymentAutoscaling | null {
	if (input === null) return null;
	if (input === undefined) return base;
	return { ...(base ?? DEFAULT_AUTOSCALING), ...input };
}

export interface ReplicaBounds {
	replicas: number;
	minReplicas: number;
	maxReplicas: number;
}

/**
 * Replica counts from what was given and what was there: a fixed deployment has min = max =
 * replicas; an autoscaled one keeps replicas within [min, max].
 */
export function resolveReplicaBounds(
	input: { replicas?: number; minReplicas?: number; maxReplicas?: number },
	autoscaled: boolean,
	base: ReplicaBounds | null,
): ReplicaBounds {
	if (!autoscaled) {
		const replicas = input.replicas ?? input.minReplicas ?? base?.replicas ?? 1;
		return { replicas, minReplicas: replicas, maxReplicas: replicas };
	}
	const minReplicas = input.minReplicas ?? base?.minReplicas ?? 1;
	const maxReplicas = input.maxReplicas ?? base?.maxReplicas ?? Math.max(minReplicas, 4);
	if (minReplicas > maxReplicas) {
		throw new InvalidInputError(
			`minReplicas (${minReplicas}) is above maxReplicas (${maxReplicas}); make min ≤ max.`,
			{ field: "minReplicas" },
		);
	}
	const wanted = input.replicas ?? base?.replicas ?? minReplicas;
	return {
		replicas: Math.min(Math.max(wanted, minReplicas), maxReplicas),
		minReplicas,
		maxReplicas,
	};
}

/** Checks a traffic split's weights; a 400 naming the problem. */
export function assertTraffic(traffic: readonly TrafficInput[]): void {
	const problem = validateTraffic(traffic);
	if (problem !== null) throw new InvalidInputError(problem, { field: "traffic" });
	const seen = new Set<string>();
	for (const entry of traffic) {
		if (seen.has(entry.version)) {
			throw new InvalidInputError(
				`Version '${entry.version}' appears twice in traffic; give each version once.`,
				{ field: "traffic" },
			);
		}
		seen.add(entry.version);
	}
}
