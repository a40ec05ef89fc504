/**
 * The scheduler's deployments: desired replicas, resources and traffic per model, and their
 * placement. A reconciler keeps replicas on fitting predictor nodes, re-places those of lost
 * nodes, autoscales, and publishes the routing table every caller routes with. A change made
 * through an action starts a reconciler pass right after it, so replicas follow at once.
 */
import type { Context, ServiceSchema } from "moleculer";
import { requires, scopeOf, type RequestMeta } from "../../lib/accounts/access";
import type { FleetTrust } from "../../lib/accounts/fleet-trust";
import { EVENTS, type EventPayloads } from "../../lib/events";
import type { FleetNode } from "../../lib/fleet/node-inventory";
import { readNodeMetadata } from "../../lib/fleet/node-metadata";
import { SERVICE } from "../../lib/fleet/node-role";
import type { VersionView } from "../../lib/registry/version-store";
import type { RoutingTable } from "../../lib/routing/routing-table";
import { callerOngoingByModel } from "../../lib/scheduler/caller-load";
import {
	CREATE_DEPLOYMENT_PARAMS,
	resolveAutoscaling,
	resolveReplicaBounds,
	resolveResources,
	UPDATE_DEPLOYMENT_PARAMS,
	type CreateDeploymentParams,
	type UpdateDeploymentParams,
} from "../../lib/scheduler/deployment-spec";
import type { DeploymentRecord, DeploymentStore } from "../../lib/scheduler/deployment-store";
import { nodeMetricsOf } from "../../lib/metrics/node-metrics";
import { countAutoscaling, setDeploymentGauges } from "../../lib/scheduler/control-metrics";
import { totalUse, useOf, type DeploymentShape } from "../../lib/scheduler/deployment-use";
import { Deployments, servedVersions, type RegistryPort } from "../../lib/scheduler/deployments";
import type { QuotaGuardMethods } from "../quota-guard.mixin";
import { Reconciler, routingTable, type ServingNode } from "../../lib/scheduler/reconciler";
import { MODEL_PARAM, PAGE_PARAMS, type Ctx, type PageParams } from "../params";
import type { MonitoringMethods } from "./monitoring.mixin";

export interface DeploymentsMixinOptions {
	store: DeploymentStore;
	/** How long a replica's load may take before it counts as failed, ms. Default 120 s. */
	loadTimeoutMs?: number;
	/** Signs the identity of the tenant a deployment's loads act for. */
	trust: FleetTrust;
}

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
				{ model, ...(version !== undefined ? { version } : {}) },
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

/** Needs the fleet-nodes mixin (`fleet`, `isLeader`) and the domain-events mixin. */
export function deploymentsMixin(options: DeploymentsMixinOptions): Partial<ServiceSchema> {
	// Long because it is a mixin schema (a declaration, not a procedure): placements and the
	// deployments.* actions, each short, and the reconcile wiring they share.
	const { store } = options;
	const deployments = new Deployments(store);
	let reconciler: Reconciler;
	/**
	 * A deployment change, and a reconciler pass right after it so replicas follow at once — on
	 * this node if it leads (`reconcile` asks the lease); otherwise the leader's next periodic
	 * pass places it.
	 */
	const reconciled = async <T>(service: unknown, change: Promise<T>): Promise<T> => {
		const result = await change;
		void (service as { reconcile(): Promise<void> }).reconcile();
		return result;
	};
	type Write<P> = Context<P, RequestMeta>;

	/**
	 * The tenant's deployment quotas for a deployment becoming `proposed` (`model`'s, which
	 * exists unless `created`): what it adds over what it held counts against them.
	 */
	async function deploymentQuotas(
		guard: QuotaGuardMethods,
		ctx: Write<unknown>,
		model: string,
		proposed: DeploymentShape,
		created: boolean,
	): Promise<void> {
		const held = await store.ofTenant(scopeOf(ctx));
		const before = totalUse(held);
		const old = held.find(d => d.model === model);
		const was = old !== undefined ? useOf(old) : { deployments: 0, replicas: 0, gpus: 0 };
		const next = useOf(proposed);
		const current = (n: number) => () => Promise.resolve(n);
		if (created) await guard.enforceQuota(ctx, "deployments", current(before.deployments), 1);
		await guard.enforceQuota(
			ctx,
			"replicas",
			current(before.replicas),
			next.replicas - was.replicas,
		);
		await guard.enforceQuota(ctx, "gpus", current(before.gpus), next.gpus - was.gpus);
	}

	return {
		actions: {
			/** The routing table (every deployment's traffic and ready replicas). Fleet-internal. */
			placements: {
				retryPolicy: { enabled: true },
				async handler(): Promise<RoutingTable> {
					// From the database: a control node that does not reconcile answers it too.
					return routingTable(await store.all(), await store.replicas());
				},
			},

			"deployments.create": requires("deployments.write", {
				params: CREATE_DEPLOYMENT_PARAMS,
				async handler(ctx: Write<CreateDeploymentParams>) {
					const autoscaling = resolveAutoscaling(ctx.params.autoscaling, null);
					await deploymentQuotas(
						this as unknown as QuotaGuardMethods,
						ctx,
						ctx.params.model.split("@")[0],
						{
							...resolveReplicaBounds(ctx.params, autoscaling !== null, null),
							autoscaling,
							resources: resolveResources(ctx.params.resources),
						},
						true,
					);
					return reconciled(
						this,
						deployments.create(scopeOf(ctx), registryFor(ctx), ctx.params),
					);
				},
			}),

			"deployments.get": requires("models.read", {
				retryPolicy: { enabled: true },
				params: MODEL_PARAM,
				async handler(ctx: Ctx<{ model: string }>) {
					const scope = scopeOf(ctx);
					const view = await store.get(scope, ctx.params.model);
					// The latest health score (monitoring mixin), null before its first pass.
					const health = await (this as unknown as MonitoringMethods).healthOf(
						scope.tenantId,
						view.model,
					);
					return { ...view, health };
				},
			}),

			"deployments.list": requires("models.read", {
				retryPolicy: { enabled: true },
				params: PAGE_PARAMS,
				handler(ctx: Ctx<PageParams>) {
					return store.list(scopeOf(ctx), ctx.params);
				},
			}),

			"deployments.update": requires("deployments.write", {
				params: UPDATE_DEPLOYMENT_PARAMS,
				async handler(ctx: Write<UpdateDeploymentParams>) {
					const current = await store.get(scopeOf(ctx), ctx.params.model);
					const autoscaling =
						ctx.params.autoscaling !== undefined
							? resolveAutoscaling(ctx.params.autoscaling, current.autoscaling)
							: current.autoscaling;
					await deploymentQuotas(
						this as unknown as QuotaGuardMethods,
						ctx,
						current.model,
						{
							...resolveReplicaBounds(ctx.params, autoscaling !== null, current),
							autoscaling,
							resources:
								ctx.params.resources !== undefined
									? resolveResources(ctx.params.resources, current.resources)
									: current.resources,
						},
						false,
					);
					return reconciled(
						this,
						deployments.update(scopeOf(ctx), registryFor(ctx), ctx.params),
					);
				},
			}),

			"deployments.scale": requires("deployments.write", {
				params: {
					...MODEL_PARAM,
					replicas: { type: "number", integer: true, min: 0, max: 64, convert: true },
				},
				async handler(ctx: Write<{ model: string; replicas: number }>) {
					const { model, replicas } = ctx.params;
					const current = await store.get(scopeOf(ctx), model);
					await deploymentQuotas(
						this as unknown as QuotaGuardMethods,
						ctx,
						current.model,
						{
							...current,
							replicas,
							maxReplicas: current.autoscaling ? current.maxReplicas : replicas,
						},
						false,
					);
					return reconciled(
						this,
						deployments.scale(scopeOf(ctx), registryFor(ctx), model, replicas),
					);
				},
			}),

			"deployments.promote": requires("deployments.write", {
				params: {
					...MODEL_PARAM,
					version: { type: "string", min: 1, max: 128, optional: true },
				},
				handler(ctx: Write<{ model: string; version?: string }>) {
					const { model, version } = ctx.params;
					return reconciled(
						this,
						deployments.promote(scopeOf(ctx), registryFor(ctx), model, version),
					);
				},
			}),

			"deployments.rollback": requires("deployments.write", {
				params: MODEL_PARAM,
				handler(ctx: Write<{ model: string }>) {
					return reconciled(
						this,
						deployments.rollback(scopeOf(ctx), registryFor(ctx), ctx.params.model),
					);
				},
			}),

			"deployments.delete": requires("deployments.write", {
				params: MODEL_PARAM,
				async handler(ctx: Write<{ model: string }>) {
					const deleted = await reconciled(
						this,
						deployments.delete(scopeOf(ctx), registryFor(ctx), ctx.params.model),
					);
					return { deleted: deleted.model };
				},
			}),
		},

		methods: {
			/** Predictor nodes as placement sees them. */
			servingNodes(): ServingNode[] {
				return (this.fleet() as FleetNode[])
					.filter(node => node.services.includes(SERVICE.predictor))
					.map(node => {
						const registryNode = this.broker.registry.nodes.get(node.nodeID);
						const meta = readNodeMetadata(registryNode?.metadata);
						const activeByKey = new Map<string, number>();
						for (const m of node.status?.serving?.models ?? [])
							// Averaged over the last second: an instant's sample mostly sees zero between fast requests.
							activeByKey.set(m.key, m.ongoing ?? m.active);
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

			async reconcile(): Promise<void> {
				if (!this.isLeader()) return;
				await reconciler.trigger().catch((err: unknown) => {
					this.logger.warn("Reconciling deployments failed:", err);
				});
			},
		},

		created() {
			const loadTimeout = options.loadTimeoutMs ?? 120_000;
			// The scheduler acts for the deployment's tenant: its identity, signed here.
			const asOwner = (d: DeploymentRecord): RequestMeta =>
				options.trust.actAs(d.tenantId, "owner", this.broker.nodeID);
			// Read at each scrape: every control node answers alike from the database.
			nodeMetricsOf(this.broker).onScrape(async () =>
				setDeploymentGauges(
					nodeMetricsOf(this.broker),
					await store.all(),
					await store.replicas(),
				),
			);
			reconciler = new Reconciler({
				store,
				nodes: () => this.servingNodes(),
				callerOngoing: () => callerOngoingByModel(this.fleet() as FleetNode[]),
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
					void this.broadcastEvent(EVENTS.placementChanged, table);
				},
				autoscaled: event => {
					countAutoscaling(nodeMetricsOf(this.broker), event);
					this.logger.info(
						`Autoscaling ${event.model}: ${event.from} → ${event.to} replicas (${event.reason}).`,
					);
					const payload: EventPayloads[typeof EVENTS.autoscalingTriggered] = event;
					void this.broadcastEvent(EVENTS.autoscalingTriggered, payload);
				},
				now: () => Date.now(),
				warn: message => this.logger.warn(message),
			});
		},
	};
}
