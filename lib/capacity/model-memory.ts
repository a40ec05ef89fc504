import type { NodeCapacity } from "./node-capacity";

/**
 * The memory a node's predictor may fill with loaded models: MODELFLEET_MODEL_CACHE_BYTES when
 * set, else half the node's memory. Advertised in the node's metadata, so placement and the
 * cache agree on it.
 */
export function modelMemoryBudget(configured: number | null, capacity: NodeCapacity): number {
	return configured ?? Math.floor(capacity.memoryBytes / 2);
}
