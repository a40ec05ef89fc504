import type { NodeCapacity } from "../capacity/node-capacity";
import { readNodeMetadata } from "./node-metadata";
import type { NodeRole } from "./node-role";
import type { NodeStatus } from "./node-status";

/** A node as Moleculer's registry knows it (the fields the inventory reads). */
export interface RegistryNode {
	id: string;
	available: boolean;
	local: boolean;
	hostname: string | null;
	metadata: unknown;
	services: string[];
}

/** A node as `GET /api/v1/nodes` and `scheduler.nodes` show it. */
export interface FleetNode {
	nodeID: string;
	role: NodeRole;
	available: boolean;
	/** Why it is unavailable, when it is. */
	unavailableReason: string | null;
	hostname: string | null;
	version: string;
	startedAt: string;
	capacity: NodeCapacity;
	services: string[];
	httpUrl: string | null;
	metricsUrl: string | null;
	/** When the last sign of life (status event, connection) arrived, ISO 8601. */
	lastSeenAt: string | null;
	status: NodeStatus | null;
	/**
	 * On control nodes: whether this one holds the control plane's leadership lease (reconciles,
	 * dispatches, collects garbage), and under which epoch; absent on other roles.
	 */
	leader?: boolean;
	leaderEpoch?: number;
}

interface Sighting {
	at: number;
	status: NodeStatus | null;
}

/**
 * The scheduler's view of the fleet: Moleculer's registry for who exists and what they
 * advertise, plus the last live status and sign of life of each node.
 *
 * A node is shown unavailable as soon as nothing has been heard from it for the heartbeat
 * timeout — Moleculer's own check runs only once per timeout, so it can take twice as long.
 */
export class NodeInventory {
	private readonly sightings = new Map<string, Sighting>();

	constructor(private readonly heartbeatTimeoutMs: number) {}

	/** A sign of life from a node: a status event (with its figures) or a connection. */
	recordSeen(nodeID: string, at: number, status: NodeStatus | null = null): void {
		const previous = this.sightings.get(nodeID);
		this.sightings.set(nodeID, { at, status: status ?? previous?.status ?? null });
	}

	/** A node that left for good (graceful stop): its figures are stale. */
	forget(nodeID: string): void {
		this.sightings.delete(nodeID);
	}

	describe(nodes: readonly RegistryNode[], now: number): FleetNode[] {
		return describeFleet(nodes, this.sightings, now, this.heartbeatTimeoutMs);
	}
}

/** The pure part of the inventory: registry nodes + sightings → the fleet as shown. */
export function describeFleet(
	nodes: readonly RegistryNode[],
	sightings: ReadonlyMap<string, Sighting>,
	now: number,
	heartbeatTimeoutMs: number,
): FleetNode[] {
	const fleet: FleetNode[] = [];
	for (const node of nodes) {
		const meta = readNodeMetadata(node.metadata);
		if (meta === null) continue; // a REPL client or another Moleculer app in the namespace
		const sighting = sightings.get(node.id);
		let unavailableReason: string | null = null;
		if (!node.available) {
			unavailableReason = "disconnected";
		} else if (
			!node.local &&
			sighting !== undefined &&
			now - sighting.at > heartbeatTimeoutMs
		) {
			unavailableReason = `no heartbeat for ${Math.round((now - sighting.at) / 1000)} s`;
		}
		fleet.push({
			nodeID: node.id,
			role: meta.role,
			available: unavailableReason === null,
			unavailableReason,
			hostname: node.hostname,
			version: meta.version,
			startedAt: meta.startedAt,
			capacity: meta.capacity,
			services: [...node.services].sort(),
			httpUrl: meta.httpUrl,
			metricsUrl: meta.metricsUrl,
			lastSeenAt: sighting ? new Date(sighting.at).toISOString() : null,
			status: sighting?.status ?? null,
		});
	}
	return fleet.sort((a, b) => a.role.localeCompare(b.role) || a.nodeID.localeCompare(b.nodeID));
}
