/**
 * scheduler — owns the node inventory, the deployments (desired replicas, resources, traffic)
 * and their placement: a reconciler keeps replicas on fitting predictor nodes, re-places those
 * of lost nodes, autoscales, and publishes the routing table every caller routes with.
 */
import type { Context, ServiceSchema } from "moleculer";
import { requires, scopeOf, type RequestMeta } from "../lib/accounts/access";
import type { Database } from "../lib/db/database";
import { EVENTS, type EventPayloads } from "../lib/events";
import { NodeInventory, type FleetNode, type RegistryNode } from "../lib/fleet/node-inventory";
import { readNodeMetadata } from "../lib/fleet/node-metadata";
import { NODE_ROLES, SERVICE, type NodeRole } from "../lib/fleet/node-role";
import type { NodeStatus } from "../lib/fleet/node-status";
import type { VersionView } from "../lib/registry/version-store";
import type { RoutingTable } from "../lib/routing/routing-table";
import {
	CREATE_DEPLOYMENT_PARAMS,
	UPDATE_DEPLOYMENT_PARAMS,
	type CreateDeploymentParams,
	type UpdateDeploymentParams,
} from "../lib/scheduler/deployment-spec";
import { DeploymentStore, type DeploymentRecord } from "../lib/scheduler/deployment-store";
import { Deployments, servedVersions, type RegistryPort } from "../lib/scheduler/deployments";
import { Reconciler, type ServingNode } from "../lib/scheduler/reconciler";

export interface SchedulerServiceOptions {
	heartbeatTimeoutMs: number;
	database: Database;
	reconcileIntervalMs: number;
	/** How long a replica's load may take before it counts as failed, ms. */
	loadTimeoutMs?: number;
}

interface NodesParams {
	role?: NodeRole;
	available?: boolean;
}

interface NodeEventPayload {
	node: { id: string };
	unexpected?: boolean;
}

type Ctx<P> = Context<P, RequestMeta>;

const MODEL = { model: { type: "string", min: 1, max: 256 } } as const;

/** The registry, called for the caller's tenant (its meta travels with the calls). */
function registryFor(ctx: Context): RegistryPort {
	return {
		modelId: async model =>
			(
				await ctx.call<{ id: string }, { name: string }>(`${SERVICE.registry}.models.get`, {
					name: model,
				})
			).id,
		version: (model, version) =>
			ctx.call<VersionView, { model: string; version?: string }>(
				`${SERVICE.registry}.versions.get`,
				{
					model,
					...(version !== undefined ? { version } : {}),
				},
			),
		transition: async (model, version, to, reason) => {
			await ctx.call(`${SERVICE.registry}.versions.transition`, {
				model,
				version,
				to,
				reason,
			});
		},
	};
}

export function schedulerService(options: SchedulerServiceOptions): ServiceSchema {
	const inventory = new NodeInventory(options.heartbeatTimeoutMs);
	const store = new DeploymentStore(options.database.db);
	const deployments = new Deployments(store);
	let reconciler: Reconciler;
	let timer: NodeJS.Timeout | null = null;

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
					const { role, available } = ctx.params;
					return this.fleet()
						.filter((node: FleetNode) => role === undefined || node.role === role)
						.filter(
							(node: FleetNode) =>
								available === undefined || node.available === available,
						);
				},
			},

			/** The routing table (every deployment's traffic and ready replicas). Fleet-internal. */
			placements: {
				retryPolicy: { enabled: true },
				handler(): RoutingTable {
					return reconciler.table;
				},
			},

			"deployments.create": requires("deployments.write", {
				params: CREATE_DEPLOYMENT_PARAMS,
				async handler(ctx: Ctx<CreateDeploymentParams>) {
					const created = await deployments.create(
						scopeOf(ctx),
						registryFor(ctx),
						ctx.params,
					);
					void reconciler.trigger();
					return created;
				},
			}),

			"deployments.get": requires("models.read", {
				retryPolicy: { enabled: true },
				params: MODEL,
				handler(ctx: Ctx<{ model: string }>) {
					return store.get(scopeOf(ctx), ctx.params.model);
				},
			}),

			"deployments.list": requires("models.read", {
				retryPolicy: { enabled: true },
				async handler(ctx: Ctx<Record<string, never>>) {
					return { items: await store.list(scopeOf(ctx)) };
				},
			}),

			"deployments.update": requires("deployments.write", {
				params: UPDATE_DEPLOYMENT_PARAMS,
				async handler(ctx: Ctx<UpdateDeploymentParams>) {
					const updated = await deployments.update(
						scopeOf(ctx),
						registryFor(ctx),
						ctx.params,
					);
					void reconciler.trigger();
					return updated;
				},
			}),

			"deployments.scale": requires("deployments.write", {
				params: {
					...MODEL,
					replicas: { type: "number", integer: true, min: 0, max: 64, convert: true },
				},
				async handler(ctx: Ctx<{ model: string; replicas: number }>) {
					const scaled = await deployments.scale(
						scopeOf(ctx),
						registryFor(ctx),
						ctx.params.model,
						ctx.params.replicas,
					);
					void reconciler.trigger();
					return scaled;
				},
			}),

			"deployments.promote": requires("deployments.write", {
				params: { ...MODEL, version: { type: "string", min: 1, max: 128, optional: true } },
				async handler(ctx: Ctx<{ model: string; version?: string }>) {
					const promoted = await deployments.promote(
						scopeOf(ctx),
						registryFor(ctx),
						ctx.params.model,
						ctx.params.version,
					);
					void reconciler.trigger();
					return promoted;
				},
			}),

			"deployments.rollback": requires("deployments.write", {
				params: MODEL,
				async handler(ctx: Ctx<{ model: string }>) {
					const rolled = await deployments.rollback(
						scopeOf(ctx),
						registryFor(ctx),
						ctx.params.model,
					);
					void reconciler.trigger();
					return rolled;
				},
			}),

			"deployments.delete": requires("deployments.write", {
				params: MODEL,
				async handler(ctx: Ctx<{ model: string }>) {
					const deleted = await deployments.delete(
						scopeOf(ctx),
						registryFor(ctx),
						ctx.params.model,
					);
					void reconciler.trigger();
					return { deleted: deleted.model };
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
			},
			"$node.disconnected"(ctx: Context<NodeEventPayload>) {
				// A graceful leave drops its stale figures; a lost node keeps them for inspection.
				if (!ctx.params.unexpected) inventory.forget(ctx.params.node.id);
				void this.reconcile();
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

			/** Predictor nodes as placement sees them. */
			servingNodes(): ServingNode[] {
				return (this.fleet() as FleetNode[])
					.filter(node => node.services.includes(SERVICE.predictor))
					.map(node => {
						const registryNode = this.broker.registry.nodes.get(node.nodeID);
						const meta = readNodeMetadata(registryNode?.metadata);
						const activeByKey = new Map<string, number>();
						for (const m of node.status?.serving?.models ?? [])
							activeByKey.set(m.key, m.active);
						return {
							nodeID: node.nodeID,
							available: node.available,
							cpus: node.capacity.cpus,
							modelMemoryBytes:
								meta?.modelMemoryBytes ?? Math.floor(node.capacity.memoryBytes / 2),
							gpus: node.capacity.gpus.map(gpu => ({
								index: gpu.index,
								memoryTotalBytes: gpu.memoryTotalBytes,
							})),
							activeByKey,
						};
					});
			},

			/**
			 * One control node reconciles: the available scheduler with the smallest node ID, so
			 * two control nodes never place the same replica twice.
			 */
			isLeader(): boolean {
				const schedulers = this.broker.registry
					.getServiceList({ onlyAvailable: true, skipInternal: true })
					.filter(service => service.name === SERVICE.scheduler)
					.map(service => String(service.nodeID));
				const leader = [...schedulers, this.broker.nodeID].sort()[0];
				return leader === this.broker.nodeID;
			},

			async reconcile(): Promise<void> {
				if (!this.isLeader()) return;
				await reconciler.trigger().catch((err: unknown) => {
					this.logger.warn("Reconciling deployments failed:", err);
				});
			},
		},

		created() {
			const loadTimeout = options.loadTimeoutMs ?? 120_000;
			const asOwner = (d: DeploymentRecord): RequestMeta => ({
				tenant: d.tenantId,
				role: "owner",
				keyId: null,
			});
			reconciler = new Reconciler({
				store,
				nodes: () => this.servingNodes(),
				load: async (nodeID, d) => {
					for (const v of servedVersions(d)) {
						await this.broker.call(
							`${SERVICE.predictor}.load`,
							{ model: d.model, version: v.version, pin: true, batching: d.batching },
							{ nodeID, meta: asOwner(d), timeout: loadTimeout },
						);
					}
				},
				unload: async (nodeID, d) => {
					for (const v of servedVersions(d)) {
						await this.broker.call(
							`${SERVICE.predictor}.unload`,
							{ model: d.model, version: v.version },
							{ nodeID, meta: asOwner(d) },
						);
					}
				},
				publish: table => {
					this.broker.broadcast(EVENTS.placementChanged, table).catch(() => undefined);
				},
				autoscaled: event => {
					this.logger.info(
						`Autoscaling ${event.model}: ${event.from} → ${event.to} replicas (${event.reason}).`,
					);
					const payload: EventPayloads[typeof EVENTS.autoscalingTriggered] = event;
					this.broker
						.broadcast(EVENTS.autoscalingTriggered, payload)
						.catch(() => undefined);
				},
				now: () => Date.now(),
				warn: message => this.logger.warn(message),
			});
		},

		started() {
			timer = setInterval(() => void this.reconcile(), options.reconcileIntervalMs);
			timer.unref();
		},

		stopped() {
			if (timer) clearInterval(timer);
		},
	};
}
