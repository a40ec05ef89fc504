import type { FleetNode } from "../fleet/node-inventory";

/**
 * Prediction calls in flight per `tenant/model` across the fleet, as the callers (gateways)
 * last reported them in their status: the callers' side of the autoscaling signal. Nodes that
 * are gone no longer count.
 */
export function callerOngoingByModel(nodes: readonly FleetNode[]): Map<string, number> {
	const byModel = new Map<string, number>();
	for (const node of nodes) {
		if (!node.available) continue;
		for (const call of node.status?.calls ?? []) {
			byModel.set(call.model, (byModel.get(call.model) ?? 0) + call.ongoing);
		}
	}
	return byModel;
}
