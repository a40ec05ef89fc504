/**
 * What every caller of `predictor.infer` needs to route a request: per deployment, the versions
 * with their traffic weights and the nodes holding a ready replica. The scheduler publishes it
 * in `placement.changed` events (the whole table: it is small) and on request.
 */
import type { FleetViewer } from "../fleet/node-view";

export interface RoutingEntry {
	deploymentId: string;
	tenant: string;
	model: string;
	traffic: Array<{ version: string; weight: number }>;
	/** A version that gets a copy of every request, or null. */
	shadow: string | null;
	/** The share of predictions the serving node captures (0: none); absent from older schedulers. */
	captureRate?: number;
	/** Node IDs with a ready replica. */
	replicas: string[];
}

export interface RoutingTable {
	deployments: RoutingEntry[];
}

/** The routing table as the viewer may see it: a tenant, its own deployments only. */
export function routingTableFor(table: RoutingTable, viewer: FleetViewer): RoutingTable {
	if (viewer.all) return table;
	return { ...table, deployments: table.deployments.filter(d => d.tenant === viewer.tenant) };
}
