/**
 * scheduler — owns the node inventory, the deployments (desired replicas, resources, traffic)
 * and their placement: a reconciler keeps replicas on fitting predictor nodes, re-places those
 * of lost nodes, autoscales, and publishes the routing table every caller routes with.
 */
import type { Context, ServiceSchema } from "moleculer";
import { requires, scopeOf, type RequestMeta } from "../lib/accounts/access";
import type { TenantView } from "../lib/accounts/accounts-store";
import type { FleetTrust } from "../lib/accounts/fleet-trust";
import type { Database } from "../lib/db/database";
import { EVENTS, type EventPayloads, type NodeForgottenEvent } from "../lib/events";
import { ForbiddenError, NotFoundError, StateConflictError } from "../lib/errors";
import { NodeInventory, type FleetNode, type RegistryNode } from "../lib/fleet/node-inventory";
import { readNodeMetadata } from "../lib/fleet/node-metadata";
import { ALL_OF_THE_FLEET, fleetNodesFor, type FleetViewer } from "../lib/fleet/node-view";
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
import { Reconciler, routingTable, type ServingNode } from "../lib/scheduler/reconciler";
import type { DatasetView } from "../lib/registry/dataset-store";
import { JOB_STATES, JobStore, type JobState } from "../lib/scheduler/job-store";
import type { TrainerNode } from "../lib/scheduler/job-dispatch";
import { callerOngoingByModel } from "../lib/scheduler/caller-load";
import { checkJobAgainstDataset } from "../lib/scheduler/job-submission";
import { TrainingDispatcher, type TrainerRunParams } from "../lib/scheduler/training-dispatcher";
import { validateJobSpec } from "../lib/training/job-spec";
import type {
	TrainingCheckpointEvent,
	TrainingCompletedEvent,
	TrainingFailedEvent,
	TrainingProgressEvent,
	TrainingStartedEvent,
} from "../lib/events";

export interface SchedulerServiceOptions {
	heartbeatTimeoutMs: number;
	database: Database;
	reconcileIntervalMs: number;
	/** How long a replica's load may take before it counts as failed, ms. */
	loadTimeoutMs?: number;
	/** Signs the identity of the tenant a deployment's loads and a job's run act for. */
	trust: FleetTrust;
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
/** Lists page as the registry's do: `limit` (1–500, default 50) and the previous page's `nextCursor`. */
const PAGE = {
	limit: { type: "number", integer: true, min: 1, max: 500, default: 50, convert: true },
	cursor: { type: "string", optional: true, max: 512 },
} as const;

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

function failureKey(event: TrainingFailedEvent): string {
	return JSON.stringify([event.jobId, event.nodeID, event.reason]);
}

export function schedulerService(options: SchedulerServiceOptions): ServiceSchema {
	const inventory = new NodeInventory(options.heartbeatTimeoutMs);
	const store = new DeploymentStore(options.database.db);
	const deployments = new Deployments(store);
	const jobs = new JobStore(options.database.db);
	/**
	 * Who reads node status: an owner of an admin tenant sees every tenant's models, another key
	 * only its tenant's; a fleet-internal call (a service identity, no tenant) sees all. Whether
	 * the tenant is an admin one is the accounts service's to say.
	 */
	const viewerOf = async (ctx: Ctx<unknown>): Promise<FleetViewer> => {
		const { meta } = ctx;
		if (meta.tenant === undefined) return ALL_OF_THE_FLEET;
		if (
			meta.role === "owner" &&
			(await ctx.call<TenantView>(`${SERVICE.accounts}.tenants.get`)).isAdmin
		)
			return ALL_OF_THE_FLEET;
		return { all: false, tenant: meta.tenant };
	};
	/** A dataset of the caller's tenant, as the registry (its owner) has it. */
	const datasetOf = (ctx: Context, ref: string): Promise<DatasetView> =>
		ctx.call<DatasetView, { ref: string }>(`${SERVICE.registry}.datasets.get`, { ref });
	let reconciler: Reconciler;
	let dispatcher: TrainingDispatcher;
	/** A deployment change, and a reconciler pass right after it so replicas follow at once. */
	const reconciled = async <T>(change: Promise<T>): Promise<T> => {
		const result = await change;
		void reconciler.trigger();
		return result;
	};
	/** Runs a dispatch pass soon (set once the service exists). */
	let kickDispatch: () => void = () => undefined;
	let timer: NodeJS.Timeout | null = null;
	/** Failures the dispatcher broadcast, so this node's handler skips them when they come back. */
	const ownFailures = new Set<string>();

	return {
		name: SERVICE.scheduler,

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
					return fleetNodesFor(nodes, await viewerOf(ctx));
				},
			},

			/** Every blob a training job's checkpoint holds, across tenants: artifact GC keeps them. Fleet-internal. */
			referencedArtifacts: {
				visibility: "public",
				handler(): Promise<string[]> {
					return jobs.referencedArtifacts();
				},
			},

			/**
			 * `DELETE /api/v1/nodes/{id}`, `fleet forget <node>`: every node forgets a lost node now
			 * (owners of an admin tenant). 404 for a node no one knows, 409 for one that is up.
			 */
			"nodes.forget": requires("keys.manage", {
				params: { id: { type: "string", min: 1, max: 256 } },
				async handler(ctx: Ctx<{ id: string }>): Promise<{ forgotten: string }> {
					const scope = scopeOf(ctx);
					if (!(await ctx.call<TenantView>(`${SERVICE.accounts}.tenants.get`)).isAdmin) {
						throw new ForbiddenError(scope.role, "forget nodes", [
							"owner of an admin tenant",
						]);
					}
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

			/** The routing table (every deployment's traffic and ready replicas). Fleet-internal. */
			placements: {
				retryPolicy: { enabled: true },
				async handler(): Promise<RoutingTable> {
					// From the database: a control node that does not reconcile answers it too.
					return routingTable(await store.all(), await store.replicas());
				},
			},

			/**
			 * Queues a training job for `target` (the model that gets the trained version); the
			 * rest is the job spec (lib/training/job-spec.ts), validated with errors naming the field.
			 */
			"jobs.enqueue": requires("train", {
				params: { target: { type: "string", min: 1, max: 256 }, $$strict: false },
				async handler(ctx: Ctx<Record<string, unknown> & { target: string }>) {
					const scope = scopeOf(ctx);
					const { target, ...input } = ctx.params;
					const spec = validateJobSpec(input);
					const dataset = await datasetOf(ctx, spec.dataset);
					checkJobAgainstDataset(spec, dataset);
					await ctx.call(`${SERVICE.registry}.models.get`, { name: target });
					const job = await jobs.enqueue(scope, {
						model: target,
						datasetId: dataset.id,
						spec: spec as unknown as Record<string, unknown>,
						priority: spec.priority,
						gpu: spec.resources.gpu,
						deadlineAt:
							spec.deadlineMs !== null
								? new Date(Date.now() + spec.deadlineMs)
								: null,
					});
					(ctx.meta as { $statusCode?: number }).$statusCode = 201;
					this.broker
						.broadcast(EVENTS.jobQueued, {
							jobId: job.id,
							tenant: scope.tenantId,
							model: target,
							priority: job.priority,
							gpu: job.gpu,
						})
						.catch(() => undefined);
					kickDispatch();
					return job;
				},
			}),

			"jobs.get": requires("models.read", {
				retryPolicy: { enabled: true },
				params: { id: { type: "uuid" } },
				handler(ctx: Ctx<{ id: string }>) {
					return jobs.get(scopeOf(ctx), ctx.params.id);
				},
			}),

			"jobs.list": requires("models.read", {
				retryPolicy: { enabled: true },
				params: {
					state: { type: "enum", values: [...JOB_STATES], optional: true },
					...PAGE,
				},
				handler(ctx: Ctx<{ state?: JobState; limit: number; cursor?: string }>) {
					return jobs.list(scopeOf(ctx), ctx.params);
				},
			}),

			"jobs.cancel": requires("train", {
				params: { id: { type: "uuid" } },
				async handler(ctx: Ctx<{ id: string }>) {
					const { job, stopOn } = await jobs.cancel(scopeOf(ctx), ctx.params.id);
					if (stopOn !== null) {
						await this.broker
							.call(
								`${SERVICE.trainer}.cancel`,
								{ jobId: job.id },
								{ nodeID: stopOn },
							)
							.catch((err: unknown) =>
								this.logger.warn(
									`Stopping job ${job.id} on ${stopOn} failed:`,
									err,
								),
							);
					}
					kickDispatch();
					return job;
				},
			}),

			"deployments.create": requires("deployments.write", {
				params: CREATE_DEPLOYMENT_PARAMS,
				handler(ctx: Ctx<CreateDeploymentParams>) {
					return reconciled(
						deployments.create(scopeOf(ctx), registryFor(ctx), ctx.params),
					);
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
				params: PAGE,
				handler(ctx: Ctx<{ limit: number; cursor?: string }>) {
					return store.list(scopeOf(ctx), ctx.params);
				},
			}),

			"deployments.update": requires("deployments.write", {
				params: UPDATE_DEPLOYMENT_PARAMS,
				handler(ctx: Ctx<UpdateDeploymentParams>) {
					return reconciled(
						deployments.update(scopeOf(ctx), registryFor(ctx), ctx.params),
					);
				},
			}),

			"deployments.scale": requires("deployments.write", {
				params: {
					...MODEL,
					replicas: { type: "number", integer: true, min: 0, max: 64, convert: true },
				},
				handler(ctx: Ctx<{ model: string; replicas: number }>) {
					return reconciled(
						deployments.scale(
							scopeOf(ctx),
							registryFor(ctx),
							ctx.params.model,
							ctx.params.replicas,
						),
					);
				},
			}),

			"deployments.promote": requires("deployments.write", {
				params: { ...MODEL, version: { type: "string", min: 1, max: 128, optional: true } },
				handler(ctx: Ctx<{ model: string; version?: string }>) {
					return reconciled(
						deployments.promote(
							scopeOf(ctx),
							registryFor(ctx),
							ctx.params.model,
							ctx.params.version,
						),
					);
				},
			}),

			"deployments.rollback": requires("deployments.write", {
				params: MODEL,
				handler(ctx: Ctx<{ model: string }>) {
					return reconciled(
						deployments.rollback(scopeOf(ctx), registryFor(ctx), ctx.params.model),
					);
				},
			}),

			"deployments.delete": requires("deployments.write", {
				params: MODEL,
				async handler(ctx: Ctx<{ model: string }>) {
					const deleted = await reconciled(
						deployments.delete(scopeOf(ctx), registryFor(ctx), ctx.params.model),
					);
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
			async [EVENTS.trainingStarted](ctx: Context<TrainingStartedEvent>) {
				if (!this.isLeader()) return;
				await jobs.recordStarted(
					ctx.params.jobId,
					ctx.params.nodeID,
					`${ctx.params.backend} (${ctx.params.device})`,
				);
			},
			async [EVENTS.trainingProgress](ctx: Context<TrainingProgressEvent>) {
				if (!this.isLeader()) return;
				const p = ctx.params;
				await jobs.recordProgress(p.jobId, {
					epoch: p.epoch,
					metrics: p.metrics,
					samplesPerSecond: p.samplesPerSecond,
					etaMs: p.etaMs,
					nodeID: p.nodeID,
					at: new Date().toISOString(),
				});
			},
			async [EVENTS.trainingCheckpoint](ctx: Context<TrainingCheckpointEvent>) {
				if (!this.isLeader()) return;
				const p = ctx.params;
				await jobs.recordCheckpoint(p.jobId, {
					sha256: p.sha256,
					epoch: p.epoch,
					size: p.size,
				});
			},
			async [EVENTS.trainingCompleted](ctx: Context<TrainingCompletedEvent>) {
				if (!this.isLeader()) return;
				const {
					jobId,
					model,
					version,
					state,
					metrics,
					bestEpoch,
					epochsRun,
					stoppedEarly,
				} = ctx.params;
				await jobs.complete(jobId, {
					model,
					version,
					state,
					metrics,
					bestEpoch,
					epochsRun,
					stoppedEarly,
				});
				void this.dispatch();
			},
			async [EVENTS.trainingFailed](ctx: Context<TrainingFailedEvent>) {
				// Failures the scheduler itself found (lost nodes, deadlines) are already recorded;
				// a trainer's own report may come from this node too (all-in-one).
				const p = ctx.params;
				const own = ctx.nodeID === this.broker.nodeID && ownFailures.delete(failureKey(p));
				if (own || !this.isLeader()) return;
				await jobs.runFailed(p.jobId, p.nodeID, p.reason, p.final);
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

			/** Trainer nodes as dispatch sees them. */
			trainerNodes(): TrainerNode[] {
				return (this.fleet() as FleetNode[])
					.filter(node => node.services.includes(SERVICE.trainer))
					.map(node => {
						const meta = readNodeMetadata(
							this.broker.registry.nodes.get(node.nodeID)?.metadata,
						);
						return {
							nodeID: node.nodeID,
							available: node.available,
							gpus: node.capacity.gpus.length,
							slots: meta?.trainerSlots ?? 1,
						};
					});
			},

			async dispatch(): Promise<void> {
				if (!this.isLeader()) return;
				await dispatcher.trigger().catch((err: unknown) => {
					this.logger.warn("Dispatching training jobs failed:", err);
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
			kickDispatch = () => void this.dispatch();
			dispatcher = new TrainingDispatcher({
				store: jobs,
				dataset: async (tenantId, datasetId) => {
					const d = await this.broker.call<DatasetView, { ref: string }>(
						`${SERVICE.registry}.datasets.get`,
						{ ref: datasetId },
						// Asked for the job's tenant: a signed identity, as every tenant-scoped call.
						{ meta: options.trust.actAs(tenantId, "owner", this.broker.nodeID) },
					);
					return {
						id: d.id,
						ref: d.ref,
						sha256: d.sha256,
						format: d.format,
						labelColumn: d.labelColumn,
					};
				},
				trainers: () => this.trainerNodes(),
				startRun: async (nodeID, tenantId, params: TrainerRunParams) => {
					await this.broker.call(`${SERVICE.trainer}.run`, params, {
						nodeID,
						meta: options.trust.actAs(tenantId, "owner", this.broker.nodeID),
						timeout: 30_000,
					});
				},
				stopRun: async (nodeID, jobId) => {
					await this.broker.call(`${SERVICE.trainer}.cancel`, { jobId }, { nodeID });
				},
				failed: event => {
					ownFailures.add(failureKey(event));
					this.broker.broadcast(EVENTS.trainingFailed, event).catch(() => undefined);
				},
				now: () => Date.now(),
				warn: message => this.logger.warn(message),
			});
		},

		started() {
			timer = setInterval(() => {
				void this.reconcile();
				void this.dispatch();
			}, options.reconcileIntervalMs);
			timer.unref();
		},

		stopped() {
			if (timer) clearInterval(timer);
		},
	};
}
