/**
 * Event names, one constant each, and their payloads (STYLE.md §9). Services emit and
 * listen through these names only. Domain events are emitted after their transaction commits.
 */
import type { NodeStatus } from "./fleet/node-status";
import type { VersionState } from "./registry/lifecycle";
import type { RoutingTable } from "./routing/routing-table";
import type { AutoscalingTriggered } from "./scheduler/reconciler";

export const EVENTS = {
	/** Broadcast by every node's agent every status interval: its live figures. */
	nodeStatus: "node.status",
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
	/** A blob was stored for the first time (not when identical content was already there). */
	artifactStored: "artifact.stored",
	/** The scheduler's routing table changed (broadcast: every caller routes with it). */
	placementChanged: "placement.changed",
	/** The autoscaler changed a deployment's desired replicas. */
	autoscalingTriggered: "autoscaling.triggered",
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

export interface EventPayloads {
	[EVENTS.nodeStatus]: NodeStatus;
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
	[EVENTS.placementChanged]: RoutingTable;
	[EVENTS.autoscalingTriggered]: AutoscalingTriggered;
}
