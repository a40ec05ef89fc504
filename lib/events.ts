/**
 * Event names, one constant each, and their payloads. Services emit and
 * listen through these names only. Domain events are emitted after their transaction commits.
 */
import type {
	DriftDetectedEvent,
	HealthCheckEvent,
	PerformanceDegradedEvent,
} from "./monitoring/monitor";
import type { NodeStatus } from "./fleet/node-status";
import type { QuotaRefusal } from "./quotas/quota-decision";
import type { VersionState } from "./registry/lifecycle";
import type { RoutingTable } from "./routing/routing-table";
import type { AutoscalingTriggered } from "./scheduler/reconciler";
import type { JobFailure } from "./scheduler/training-dispatcher";

export const EVENTS = {
	/** Broadcast by every node's agent every status interval: its live figures. */
	nodeStatus: "node.status",
	/** An operator forgot a lost node (broadcast: every node drops it from its registry). */
	nodeForgotten: "node.forgotten",
	modelCreated: "model.created",
	modelUpdated: "model.updated",
	modelDeleted: "model.deleted",
	versionCreated: "version.created",
	versionUpdated: "version.updated",
	versionTransitioned: "version.transitioned",
	/** A version reached Deployed. */
	modelDeployed: "model.deployed",
	/** A version reached Retired. */
	modelRetired: "model.retired",
	aliasMoved: "alias.moved",
	aliasDeleted: "alias.deleted",
	/** A worker loaded a model version into its cache. */
	modelLoaded: "model.loaded",
	/** A worker's cache let a model version go (least recently used, or unloaded). */
	modelEvicted: "model.evicted",
	/** A prediction failed on the server's side (client mistakes are not events). */
	predictionFailed: "prediction.failed",
	/**
	 * A predictor's counts of one model version's predictions over one interval
	 * (PredictionRequested/Completed/Failed, aggregated: never one event per request).
	 */
	predictionSummary: "prediction.summary",
	/** A blob was stored for the first time (not when identical content was already there). */
	artifactStored: "artifact.stored",
	/** The scheduler's routing table changed (broadcast: every caller routes with it). */
	placementChanged: "placement.changed",
	/** The autoscaler changed a deployment's desired replicas. */
	autoscalingTriggered: "autoscaling.triggered",
	/** A training job entered the queue (ModelTrainingQueued). */
	jobQueued: "job.queued",
	/** A trainer began (or resumed) a job (ModelTrainingStarted). */
	trainingStarted: "training.started",
	/** A trainer finished an epoch (ModelTrainingProgress). */
	trainingProgress: "training.progress",
	/** A trainer stored a checkpoint of a job. */
	trainingCheckpoint: "training.checkpoint",
	/** A job registered its version (ModelTrainingCompleted). */
	trainingCompleted: "training.completed",
	/** A job failed on a trainer, or for good (ModelTrainingFailed). */
	trainingFailed: "training.failed",
	/** A tenant's request was refused for one of its quotas (ResourceLimitExceeded). */
	resourceLimitExceeded: "tenant.resource_limit_exceeded",
	/** A window of captured traffic drifted from the baseline (ModelDriftDetected). */
	driftDetected: "model.drift_detected",
	/** A window of live accuracy fell below the version's test metrics (ModelPerformanceDegraded). */
	performanceDegraded: "model.performance_degraded",
	/** A deployment's health score, with its parts, recomputed (ModelHealthCheck). */
	healthCheck: "model.health_check",
} as const;

/** Every domain event says which tenant and key caused it. */
interface DomainEvent {
	tenant: string;
	keyId: string | null;
}

export interface ModelEvent extends DomainEvent {
	model: string;
	modelId: string;
}

export interface VersionEvent extends DomainEvent {
	model: string;
	version: string;
	versionId: string;
	state: VersionState;
}

export interface VersionTransitionedEvent extends VersionEvent {
	from: VersionState;
}

export interface AliasEvent extends DomainEvent {
	model: string;
	alias: string;
	version: string | null;
	previous: string | null;
}

export interface ArtifactStoredPayload {
	sha256: string;
	size: number;
}

export interface ModelCacheEvent {
	nodeID: string;
	/** tenant/model@version */
	key: string;
	bytes: number;
	/** Load time (loaded) or why it left (evicted). */
	ms?: number;
	reason?: string;
}

export interface PredictionFailedEvent {
	nodeID: string;
	tenant: string;
	model: string;
	version: string | null;
	type: string;
	message: string;
}

/** Predictions of one tenant's model version on one node over one interval. */
export interface PredictionSummaryEvent {
	nodeID: string;
	tenant: string;
	model: string;
	/** The version that answered; null for requests that failed before one was resolved. */
	version: string | null;
	/** The interval, ISO 8601. */
	from: string;
	to: string;
	/** Requests received (PredictionRequested) = completed + failed. */
	requests: number;
	/** Requests answered (PredictionCompleted). */
	completed: number;
	/** Requests that failed, client mistakes included (PredictionFailed). */
	failed: number;
	/** Failures by error type (e.g. `INVALID_INPUT`, `DEADLINE_EXCEEDED`). */
	failures: Record<string, number>;
}

export interface NodeForgottenEvent {
	nodeID: string;
	/** "operator": `fleet forget` or DELETE /api/v1/nodes/{id}; "timeout": MODELFLEET_NODE_FORGET_S passed. */
	reason: "operator" | "timeout";
}

/** Every training event names its job and tenant. */
export interface TrainingEvent {
	jobId: string;
	tenant: string;
	model: string;
}

export interface JobQueuedEvent extends TrainingEvent {
	priority: number;
	gpu: boolean;
}

export interface TrainingStartedEvent extends TrainingEvent {
	nodeID: string;
	/** The epoch it starts at: 1, or the one after its checkpoint when resuming. */
	fromEpoch: number;
	/** The TF.js backend and device that run it ("wasm", "tensorflow"; "cpu", "gpu"). */
	backend: string;
	device: string;
}

export interface TrainingProgressEvent extends TrainingEvent {
	nodeID: string;
	epoch: number;
	epochs: number;
	/** loss, accuracy / mae, and val_* for the validation split. */
	metrics: Record<string, number>;
	samplesPerSecond: number;
	etaMs: number;
	/** Data-parallel jobs: the epoch's gradient exchanges (rank 0 measures them). */
	communication?: DataParallelCost;
}

/** What a data-parallel job's gradient exchange costs, per step. */
export interface DataParallelCost {
	workers: number;
	/** Mean wall time of a step's exchange on rank 0, ms. */
	msPerStep: number;
	/** Gradient payload bytes over the bus per step (every rank's send and answer). */
	bytesPerStep: number;
}

export interface TrainingCheckpointEvent extends TrainingEvent {
	nodeID: string;
	epoch: number;
	sha256: string;
	size: number;
}

export interface TrainingCompletedEvent extends TrainingEvent {
	nodeID: string;
	/** The version registered; null for a job that registers none (spec `register: false`: a study's trial). */
	version: string | null;
	state: "Trained" | "Validated";
	metrics: Record<string, number>;
	/** The epoch whose weights the version has (early stopping may restore an earlier one). */
	bestEpoch: number;
	epochsRun: number;
	stoppedEarly: boolean;
	/** The scheduler's attempt that completed: a late report of an earlier attempt is ignored. */
	attempt?: number;
	/** The last epoch's metrics again (its progress report may have been lost in a control outage). */
	lastEpoch?: { epoch: number; metrics: Record<string, number> };
	/** The last checkpoint stored, again (its own report may have been lost the same way). */
	checkpoint?: { epoch: number; sha256: string; size: number };
	/** Data-parallel jobs: the workers of the last attempt, its mean speed and exchange cost. */
	dataParallel?: DataParallelCost & { samplesPerSecond: number };
}

/** nodeID (null when no trainer had it), reason, and whether the job is over (final). */
export interface TrainingFailedEvent extends TrainingEvent, JobFailure {}

/**
 * A quota refused a request: which, its limit and the use then. Rate quotas report once per
 * tenant, quota and window on each gateway, not once per refused request.
 */
export interface ResourceLimitExceededEvent
	extends DomainEvent, Omit<QuotaRefusal, "retryAfterMs"> {
	/** The node that refused it. */
	nodeID: string;
}

export interface EventPayloads {
	[EVENTS.nodeStatus]: NodeStatus;
	[EVENTS.nodeForgotten]: NodeForgottenEvent;
	[EVENTS.modelCreated]: ModelEvent;
	[EVENTS.modelUpdated]: ModelEvent;
	[EVENTS.modelDeleted]: ModelEvent;
	[EVENTS.versionCreated]: VersionEvent;
	[EVENTS.versionUpdated]: VersionEvent;
	[EVENTS.versionTransitioned]: VersionTransitionedEvent;
	[EVENTS.modelDeployed]: VersionTransitionedEvent;
	[EVENTS.modelRetired]: VersionTransitionedEvent;
	[EVENTS.aliasMoved]: AliasEvent;
	[EVENTS.aliasDeleted]: AliasEvent;
	[EVENTS.artifactStored]: ArtifactStoredPayload;
	[EVENTS.modelLoaded]: ModelCacheEvent;
	[EVENTS.modelEvicted]: ModelCacheEvent;
	[EVENTS.predictionFailed]: PredictionFailedEvent;
	[EVENTS.predictionSummary]: PredictionSummaryEvent;
	[EVENTS.placementChanged]: RoutingTable;
	[EVENTS.autoscalingTriggered]: AutoscalingTriggered;
	[EVENTS.jobQueued]: JobQueuedEvent;
	[EVENTS.trainingStarted]: TrainingStartedEvent;
	[EVENTS.trainingProgress]: TrainingProgressEvent;
	[EVENTS.trainingCheckpoint]: TrainingCheckpointEvent;
	[EVENTS.trainingCompleted]: TrainingCompletedEvent;
	[EVENTS.trainingFailed]: TrainingFailedEvent;
	[EVENTS.resourceLimitExceeded]: ResourceLimitExceededEvent;
	[EVENTS.driftDetected]: DriftDetectedEvent;
	[EVENTS.performanceDegraded]: PerformanceDegradedEvent;
	[EVENTS.healthCheck]: HealthCheckEvent;
}
