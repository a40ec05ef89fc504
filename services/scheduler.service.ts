/**
 * scheduler — owns the node inventory (who is in the fleet, what each can do, its last live
 * figures). Deployments, placement and the training queue join it in later issues.
 */
import type { Context, ServiceSchema } from "moleculer";
import { EVENTS } from "../lib/events";
import { NodeInventory, type FleetNode, type RegistryNode } from "../lib/fleet/node-inventory";
import { NODE_ROLES, SERVICE, type NodeRole } from "../lib/fleet/node-role";
import type { NodeStatus } from "../lib/fleet/node-status";

export interface SchedulerServiceOptions {
	heartbeatTimeoutMs: number;
}

interface NodesParams {
	role?: NodeRole;
	available?: boolean;
}

interface NodeEventPayload {
	node: { id: string };
	unexpected?: boolean;
}

export function schedulerService(options: SchedulerServiceOptions): ServiceSchema {
	const inventory = new NodeInventory(options.heartbeatTimeoutMs);

	return {
		name: SERVICE.scheduler,

		actions: {
			/** Every node of the fleet with its role, capacity, availability and last status. */
			nodes: {
				retryPolicy: { enabled: true },
				params: {
					role: { type: "enum", values: [...NODE_ROLES], optional: true },
					available: { type: "boolean", convert: true, optional: true },
				},
				handler(ctx: Context<NodesParams>): FleetNode[] {
					const nodes = this.broker.registry
						.getNodeList({ onlyAvailable: false, withServices: true })
						.map((node): RegistryNode => ({
							id: node.id,
							available: node.available,
							local: node.local,
							hostname: node.hostname ?? null,
							metadata: node.metadata,
							services: (node.services ?? [])
								.map(service => String(service.name))
								.filter(name => !name.startsWith("$")),
						}));
					const { role, available } = ctx.params;
					return inventory
						.describe(nodes, Date.now())
						.filter(node => role === undefined || node.role === role)
						.filter(node => available === undefined || node.available === available);
				},
			},
		},

		events: {
			[EVENTS.nodeStatus](ctx: Context<NodeStatus>) {
				inventory.recordSeen(ctx.params.nodeID, Date.now(), ctx.params);
			},
			"$node.connected"(ctx: Context<NodeEventPayload>) {
				inventory.recordSeen(ctx.params.node.id, Date.now());
			},
			"$node.disconnected"(ctx: Context<NodeEventPayload>) {
				// A graceful leave drops its stale figures; a lost node keeps them for inspection.
				if (!ctx.params.unexpected) inventory.forget(ctx.params.node.id);
			},
		},
	};
}
