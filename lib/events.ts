/**
 * Event names, one constant each, and their payloads (STYLE.md §9). Services emit and
 * listen through these names only.
 */
import type { NodeStatus } from "./fleet/node-status";

export const EVENTS = {
	/** Broadcast by every node's agent every status interval: its live figures. */
	nodeStatus: "node.status",
} as const;

export interface EventPayloads {
	[EVENTS.nodeStatus]: NodeStatus;
}
