/**
 * What one caller may see of the fleet's nodes. Node status names every loaded model by its key
 * (`tenant/model@version`) and a gateway's calls by `tenant/model`; a tenant sees only its own
 * models there, and the per-node totals of models (count, bytes, active requests) are its own
 * too. Node-wide figures that name no model (CPU, memory, GPUs, actions in flight) stay.
 * An admin — and a fleet-internal call, which carries no tenant — sees every model. (The routing
 * table as a viewer sees it: lib/routing/routing-table.ts routingTableFor.)
 */
import type { FleetNode } from "./node-inventory";
import type { NodeStatus, ServingStatus } from "./node-status";

/** Who looks: everything (an admin, the fleet itself), or one tenant's own models. */
export type FleetViewer = { all: true } | { all: false; tenant: string };

export const ALL_OF_THE_FLEET: FleetViewer = { all: true };

/** Whether a model key (`tenant/model@version` or `tenant/model`) is the tenant's. */
export function isTenantsModelKey(key: string, tenant: string): boolean {
	return key.startsWith(`${tenant}/`);
}

/** The nodes as the viewer may see them; the input is left as it is. */
export function fleetNodesFor(nodes: readonly FleetNode[], viewer: FleetViewer): FleetNode[] {
	if (viewer.all) return [...nodes];
	return nodes.map(node =>
		node.status === null ? node : { ...node, status: statusFor(node.status, viewer.tenant) },
	);
}

function statusFor(status: NodeStatus, tenant: string): NodeStatus {
	const shown: NodeStatus = { ...status };
	if (status.serving !== undefined) shown.serving = servingFor(status.serving, tenant);
	if (status.calls !== undefined) {
		shown.calls = status.calls.filter(call => isTenantsModelKey(call.model, tenant));
	}
	return shown;
}

function servingFor(serving: ServingStatus, tenant: string): ServingStatus {
	const models = (serving.models ?? []).filter(m => isTenantsModelKey(m.key, tenant));
	return {
		...serving,
		modelsLoaded: models.length,
		modelBytes: models.reduce((sum, m) => sum + (m.bytes ?? 0), 0),
		activeRequests: models.reduce((sum, m) => sum + m.active, 0),
		models,
	};
}
