import type { NodeCapacity } from "../capacity/node-capacity";
import type { NodeRole } from "./node-role";
import { isNodeRole } from "./node-role";

/** The key under which a modelfleet node puts its description into Moleculer's broker metadata. */
export const METADATA_KEY = "modelfleet";

/**
 * What a node tells the fleet about itself once, at start (static; live figures travel in
 * `node.status` events). Every other node reads it from its registry.
 */
export interface NodeMetadata {
	role: NodeRole;
	/** modelfleet's version on that node. */
	version: string;
	startedAt: string;
	capacity: NodeCapacity;
	/** Where the node serves HTTP, when its role has the gateway. */
	httpUrl: string | null;
	metricsUrl: string | null;
	/** The predictor's model-cache budget, where the node serves models (placement fits replicas in it). */
	modelMemoryBytes?: number | null;
	/** Training jobs the node's trainer runs at once, where it has one. */
	trainerSlots?: number | null;
}

/** Reads a node's metadata from the broker metadata of a registry node; null for non-modelfleet nodes. */
export function readNodeMetadata(brokerMetadata: unknown): NodeMetadata | null {
	if (brokerMetadata === null || typeof brokerMetadata !== "object") return null;
	const value = (brokerMetadata as Record<string, unknown>)[METADATA_KEY];
	if (value === null || typeof value !== "object") return null;
	const candidate = value as Partial<NodeMetadata>;
	if (typeof candidate.role !== "string" || !isNodeRole(candidate.role)) return null;
	if (candidate.capacity === undefined || typeof candidate.capacity !== "object") return null;
	return candidate as NodeMetadata;
}
