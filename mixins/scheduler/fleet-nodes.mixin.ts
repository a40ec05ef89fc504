/**
 * The scheduler's view of the fleet: the node inventory (heartbeats, capacity, last status),
 * `nodes` and `nodes.forget`, and whether this scheduler leads (holds the leadership lease). A node
 * joining or leaving starts a reconciler pass and a dispatch pass at once (the deployments
 * and training-queue mixins' `reconcile` and `dispatch`).
 */
import type { Context, ServiceSchema } from "moleculer";
import { requires, type RequestMeta } from "../../lib/accounts/access";
import type { TenantView } from "../../lib/accounts/accounts-store";
import { NotFoundError, StateConflictError } from "../../lib/errors";
import { EVENTS, type NodeForgottenEvent } from "../../lib/events";
import type { NodeInventory, FleetNode, RegistryNode } from "../../lib/fleet/node-inventory";
import { readNodeMetadata } from "../../lib/fleet/node-metadata";
import { ALL_OF_THE_FLEET, fleetNodesFor, type FleetViewer } from "../../lib/fleet/node-view";
import { NODE_ROLES, SERVICE, type NodeRole } from "../../lib/fleet/node-role";
import type { NodeStatus } from "../../lib/fleet/node-status";
import type { LeaderLease } from "../../lib/scheduler/leader-lease";
import type { Ctx } from "../params";
import type { TenantAccessMethods } from "../tenant-access.mixin";

interface NodesParams {
	role?: NodeRole;
	available?: boolean;
}

interface NodeEventPayload {
	node: { id: string };
	unexpected?: boolean;
}

/**
 * Who reads node status: an owner of an admin tenant sees every tenant's models, another key
 * only its tenant's; a fleet-internal call (a service identity, no tenant) sees all. Whether
 * the tenant is an admin one is the accounts service's to say.
 */
async function viewerOf(ctx: Ctx<unknown>): Promise<FleetViewer> {
	const { meta } = ctx;
	if (meta.tenant === undefined) return ALL_OF_THE_FLEET;
	if (
		meta.role === "owner" &&
		(await ctx.call<TenantView>(`${SERVICE.accounts}.tenants.get`)).isAdmin
	)
		return ALL_OF_THE_FLEET;
	return { all: false, tenant: meta.tenant };
}

/**
 * Marks the control nodes with who leads, as the lease's row says (any control node can answer
 * `nodes`, the leader or not). Without an answer from the database nodes are shown unmarked.
 */
async function withLeader(nodes: FleetNode[], lease: LeaderLease): Promise<FleetNode[]> {
	const holder = await lease.holderNow().catch(() => null);
	return nodes.map(node => {
		if (!node.services.includes(SERVICE.scheduler)) return node;
		const leads = holder !== null && holder.live && holder.nodeID === node.nodeID;
		return leads
			? { ...node, leader: true, leaderEpoch: holder.epoch }
			: { ...node, leader: false };
	});
}

/** Needs the tenant-access mixin (`requireAdminTenant`) and `reconcile`/`dispatch` methods. */
export function fleetNodesMixin(
	inventory: NodeInventory,
	lease: LeaderLease,
): Partial<ServiceSchema> {
	// Long because it is a mixin schema (a declaration, not a procedure): the nodes actions, the
	// node events feeding the inventory and the fleet/isLeader methods, each short.
	return {
		actions: {
			/**
			 * Every node of the fleet with its role, capacity, availability and last status; the
			 * models in a node's status are the caller's tenant's own unless it is an admin
			 * (lib/fleet/node-view.ts).
			 */
			nodes: {
				retryPolicy: { enabled: true },
				params: {
					role: { type: "enum", values: [...NODE_ROLES], optional: true },
					available: { type: "boolean", convert: true, optional: true },
				},
				async handler(ctx: Ctx<NodesParams>): Promise<FleetNode[]> {
					const { role, available } = ctx.params;
					const nodes = (this.fleet() as FleetNode[])
						.filter(node => role === undefined || node.role === role)
						.filter(node => available === undefined || node.available === available);
					return fleetNodesFor(await withLeader(nodes, lease), await viewerOf(ctx));
				},
			},

			/**
			 * `DELETE /api/v1/nodes/{id}`, `fleet forget <node>`: every node forgets a lost node now
			 * (owners of an admin tenant). 404 for a node no one knows, 409 for one that is up.
			 */
			"nodes.forget": requires("keys.manage", {
				params: { id: { type: "string", min: 1, max: 256 } },
				async handler(
					ctx: Context<{ id: string }, RequestMeta>,
				): Promise<{ forgotten: string }> {
					const access = this as unknown as TenantAccessMethods;
					await access.requireAdminTenant(ctx, "forget nodes");
					const { id } = ctx.params;
					const node = this.broker.registry.nodes.get(id);
					if (!node || readNodeMetadata(node.metadata) === null)
						throw new NotFoundError("node", id);
					if (node.available || node.local) {
						throw new StateConflictError(
							`Node '${id}' is available: stop it first (a running node is listed again at its next heartbeat).`,
							{ nodeID: id },
						);
					}
					// Gone from this node's list before the answer; the broadcast tells every other node.
					this.broker.registry.nodes.delete(id);
					inventory.forget(id);
					const payload: NodeForgottenEvent = { nodeID: id, reason: "operator" };
					await this.broker.broadcast(EVENTS.nodeForgotten, payload);
					this.logger.info(`Node '${id}' forgotten at an operator's request.`);
					return { forgotten: id };
				},
			}),
		},

		events: {
			[EVENTS.nodeStatus](ctx: Context<NodeStatus>) {
				inventory.recordSeen(ctx.params.nodeID, Date.now(), ctx.params);
			},
			"$node.connected"(ctx: Context<NodeEventPayload>) {
				inventory.recordSeen(ctx.params.node.id, Date.now());
				void this.reconcile();
				void this.dispatch();
			},
			[EVENTS.nodeForgotten](ctx: Context<NodeForgottenEvent>) {
				inventory.forget(ctx.params.nodeID);
			},
			"$node.disconnected"(ctx: Context<NodeEventPayload>) {
				// A graceful leave drops its stale figures; a lost node keeps them for inspection.
				if (!ctx.params.unexpected) inventory.forget(ctx.params.node.id);
				void this.reconcile();
				void this.dispatch();
			},
		},

		methods: {
			/** The fleet as the inventory shows it now. */
			fleet(): FleetNode[] {
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
				return inventory.describe(nodes, Date.now());
			},

			/**
			 * One control node reconciles, dispatches and collects garbage: the holder of the
			 * leadership lease (lib/scheduler/leader-lease.ts), whose writes are fenced by its epoch.
			 */
			isLeader(): boolean {
				return lease.isLeader();
			},
		},
	};
}
