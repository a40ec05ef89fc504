/**
 * Keeps the fleet's actual replicas equal to the desired ones: one pass reads the deployments,
 * the placed replicas and the live nodes, lets the autoscaler move desired counts, plans
 * placement, asks predictors to load (and pin) or unpin, records deployment status, and
 * publishes the routing table when it changed. Passes never overlap; loads run in the
 * background and trigger another pass when they finish.
 */
import { CoalescedPass } from "./coalesced-pass";
import type { PlacementNode, PlacedReplica, DeploymentDemand, PlacementPlan } from "./placement";
import { planPlacement } from "./placement";
import { decideReplicas, INITIAL_AUTOSCALING_STATE, type AutoscalingState } from "./autoscaling";
import type { DeploymentRecord, DeploymentStatus, PlacedReplicaRow } from "./deployment-store";
import { servedVersions, type ServedVersion } from "./deployments";
import type { RoutingTable } from "../routing/routing-table";

/** A predictor node as the reconciler sees it. */
export interface ServingNode extends PlacementNode {
	/** Running + queued requests per served version key (`tenant/model@version`), averaged over the last second as last reported. */
	activeByKey: ReadonlyMap<string, number>;
}

/** The deployment store operations the reconciler uses. */
export interface ReconcilerStore {
	all(): Promise<DeploymentRecord[]>;
	replicas(): Promise<PlacedReplicaRow[]>;
	setReplicas(id: string, replicas: number): Promise<void>;
	setStatus(id: string, status: DeploymentStatus, reason: string | null): Promise<void>;
	addReplica(deploymentId: string, nodeID: string, gpuIndex: number | null): Promise<boolean>;
	setReplicaState(
		deploymentId: string,
		nodeID: string,
		state: "loading" | "ready",
	): Promise<void>;
	removeReplica(deploymentId: string, nodeID: string): Promise<void>;
}

export interface AutoscalingTriggered {
	tenant: string;
	model: string;
	deploymentId: string;
	from: number;
	to: number;
	reason: string;
}

export interface ReconcilerDeps {
	store: ReconcilerStore;
	/** The predictor nodes of the fleet now (available or not). */
	nodes(): ServingNode[];
	/** Prediction calls in flight as the callers (gateways) report them, per `tenant/model`. */
	callerOngoing?(): ReadonlyMap<string, number>;
	/** Loads and pins a deployment's versions on a node, with its batching settings. */
	load(nodeID: string, deployment: DeploymentRecord): Promise<void>;
	/** Unpins a deployment's versions on a node (the LRU may then evict them). */
	unload(nodeID: string, deployment: DeploymentRecord): Promise<void>;
	publish(table: RoutingTable): void;
	autoscaled(event: AutoscalingTriggered): void;
	now(): number;
	warn(message: string): void;
}

/** Model memory a replica needs when the deployment does not say: the served files, twice, plus room. */
export function estimateReplicaMemory(d: DeploymentRecord): number {
	if (d.resources.memoryBytes !== null) return d.resources.memoryBytes;
	let bytes = 0;
	for (const v of [...d.traffic, ...(d.shadow ? [d.shadow] : [])]) {
		bytes += 2 * ((v as Partial<ServedVersion>).artifactBytes ?? 0) + 16 * 1024 * 1024;
	}
	return bytes;
}

/** The served-model keys of a deployment, as predictors report them. */
export function deploymentKeys(d: DeploymentRecord): string[] {
	return servedVersions(d).map(v => `${d.tenantId}/${d.model}@${v.version}`);
}

/**
 * The routing table of the fleet: per deployment, its traffic and the nodes with a ready
 * replica. Made from the database, so any control node answers it alike.
 */
export function routingTable(
	deployments: readonly DeploymentRecord[],
	replicas: readonly PlacedReplicaRow[],
): RoutingTable {
	return {
		deployments: deployments.map(d => ({
			deploymentId: d.id,
			tenant: d.tenantId,
			model: d.model,
			traffic: d.traffic.map(t => ({ version: t.version, weight: t.weight })),
			shadow: d.shadow?.version ?? null,
			captureRate: d.monitoring.captureRate,
			replicas: replicas
				.filter(r => r.deploymentId === d.id && r.state === "ready")
				.map(r => r.nodeID)
				.sort(),
		})),
	};
}

/** What a replica must hold: its versions and batching settings. */
function servingSignature(d: DeploymentRecord): string {
	return JSON.stringify([
		servedVersions(d)
			.map(v => v.versionId)
			.sort(),
		d.batching,
	]);
}

/** The placed replicas with the resources placement counts them at. */
function placedReplicas(
	deployments: readonly DeploymentRecord[],
	demands: readonly DeploymentDemand[],
	rows: readonly PlacedReplicaRow[],
): PlacedReplica[] {
	return rows.map(r => {
		const d = deployments.find(x => x.id === r.deploymentId);
		const demand = demands.find(x => x.deploymentId === r.deploymentId);
		return {
			deploymentId: r.deploymentId,
			nodeID: r.nodeID,
			gpuIndex: r.gpuIndex,
			resources: demand?.resources ?? {
				memoryBytes: d ? estimateReplicaMemory(d) : 0,
				cpu: 0,
				gpus: 0,
				gpuMemoryBytes: 0,
			},
		};
	});
}

/** How long a deployment waits before a node that failed to load it is tried again. */
const LOAD_RETRY_MS = 10_000;

export class Reconciler {
	private readonly passes = new CoalescedPass(() => this.pass());
	private readonly loading = new Set<string>();
	private readonly autoscaling = new Map<string, AutoscalingState>();
	/** deployment id → until when it is not placed (after a failed load), and why. */
	private readonly backoff = new Map<string, { until: number; reason: string }>();
	private lastTable = "";
	/** What each replica (deployment, node) was last asked to serve. */
	private readonly served = new Map<
		string,
		{ signature: string; deployment: DeploymentRecord }
	>();

	constructor(private readonly deps: ReconcilerDeps) {}

	/** Runs a pass now, or right after the one in progress. */
	trigger(): Promise<void> {
		return this.passes.trigger();
	}

	/** Waits for the loads in flight (tests, shutdown). */
	get busy(): boolean {
		return this.passes.active || this.loading.size > 0;
	}

	private async pass(): Promise<void> {
		const now = this.deps.now();
		const deployments = await this.deps.store.all();
		const rows = await this.deps.store.replicas();
		const nodes = this.deps.nodes();
		const nodeByID = new Map(nodes.map(n => [n.nodeID, n]));

		const callers = this.deps.callerOngoing?.() ?? new Map<string, number>();
		for (const d of deployments) this.autoscale(d, rows, nodeByID, callers, now);
		for (const id of [...this.autoscaling.keys()]) {
			if (!deployments.some(d => d.id === id)) this.autoscaling.delete(id);
		}

		const demands = this.demandsOf(deployments, rows, now);
		const plan = planPlacement(demands, nodes, placedReplicas(deployments, demands, rows));
		const replicas = await this.applyPlan(plan, deployments, rows, nodeByID);

		this.unloadDeleted(deployments, nodeByID);
		this.refreshChangedReplicas(deployments, replicas);
		// Routes first, status after: the table is sent before a client can read "running", so a
		// gateway normally routes to a replica as soon as its deployment shows ready.
		this.publish(deployments, replicas);
		await this.recordStatuses(deployments, replicas, plan, now);
	}

	/** What each deployment asks of placement now. */
	private demandsOf(
		deployments: readonly DeploymentRecord[],
		rows: readonly PlacedReplicaRow[],
		now: number,
	): DeploymentDemand[] {
		return deployments.map(d => {
			const held = this.backoff.get(d.id);
			const placed = rows.filter(r => r.deploymentId === d.id).length;
			return {
				deploymentId: d.id,
				// After a failed load, hold at what is placed (no new tries, no removals) for a while.
				replicas: held && held.until > now ? Math.min(placed, d.replicas) : d.replicas,
				resources: {
					memoryBytes: estimateReplicaMemory(d),
					cpu: d.resources.cpu,
					gpus: d.resources.gpus,
					gpuMemoryBytes: d.resources.gpuMemoryBytes,
				},
				createdAt: Date.parse(d.createdAt),
			};
		});
	}

	/** Removes and adds replicas as planned, unpinning and loading; the replicas after. */
	private async applyPlan(
		plan: PlacementPlan,
		deployments: readonly DeploymentRecord[],
		rows: PlacedReplicaRow[],
		nodeByID: ReadonlyMap<string, ServingNode>,
	): Promise<PlacedReplicaRow[]> {
		let replicas = rows;
		for (const removal of plan.remove) {
			await this.deps.store.removeReplica(removal.deploymentId, removal.nodeID);
			replicas = replicas.filter(
				r => !(r.deploymentId === removal.deploymentId && r.nodeID === removal.nodeID),
			);
			const d = deployments.find(x => x.id === removal.deploymentId);
			if (d && nodeByID.get(removal.nodeID)?.available) {
				this.deps.unload(removal.nodeID, d).catch(err => {
					this.deps.warn(
						`Unpinning ${d.model} on ${removal.nodeID} failed: ${String(err)}`,
					);
				});
			}
		}
		for (const placement of plan.place) {
			const d = deployments.find(x => x.id === placement.deploymentId);
			if (!d) continue;
			if (!(await this.deps.store.addReplica(d.id, placement.nodeID, placement.gpuIndex)))
				continue;
			replicas = [
				...replicas,
				{
					deploymentId: d.id,
					nodeID: placement.nodeID,
					gpuIndex: placement.gpuIndex,
					state: "loading",
				},
			];
			this.startLoad(placement.nodeID, d);
		}
		return replicas;
	}

	/** Sets each deployment's status (and reason) where it changed. */
	private async recordStatuses(
		deployments: readonly DeploymentRecord[],
		replicas: readonly PlacedReplicaRow[],
		plan: PlacementPlan,
		now: number,
	): Promise<void> {
		for (const d of deployments) {
			const mine = replicas.filter(r => r.deploymentId === d.id);
			const ready = mine.filter(r => r.state === "ready").length;
			const pending = plan.pending.find(p => p.deploymentId === d.id);
			const held = this.backoff.get(d.id);
			let status: DeploymentStatus;
			let reason: string | null = null;
			if (ready >= d.replicas) {
				status = "running";
			} else if (held && held.until > now) {
				status = ready > 0 ? "degraded" : "pending";
				reason = held.reason;
			} else if (pending && mine.length < d.replicas) {
				status = ready > 0 ? "degraded" : "pending";
				reason = pending.reason;
			} else {
				status = "deploying";
			}
			if (status !== d.status || reason !== d.statusReason) {
				await this.deps.store.setStatus(d.id, status, reason);
			}
		}
	}

	private autoscale(
		d: DeploymentRecord,
		rows: readonly PlacedReplicaRow[],
		nodes: ReadonlyMap<string, ServingNode>,
		callers: ReadonlyMap<string, number>,
		now: number,
	): void {
		if (!d.autoscaling) {
			this.autoscaling.delete(d.id);
			return;
		}
		const keys = deploymentKeys(d);
		let ongoing = 0;
		for (const r of rows) {
			if (r.deploymentId !== d.id) continue;
			const node = nodes.get(r.nodeID);
			if (!node) continue;
			for (const key of keys) ongoing += node.activeByKey.get(key) ?? 0;
		}
		// Ray Serve counts a replica's ongoing requests where they are sent: requests on their way
		// or queued count as much as running ones. Callers report theirs; a node's own count
		// covers the calls that never cross the network (all-in-one).
		ongoing = Math.max(ongoing, callers.get(`${d.tenantId}/${d.model}`) ?? 0);
		const decision = decideReplicas(
			{
				minReplicas: d.minReplicas,
				maxReplicas: d.maxReplicas,
				targetOngoingRequests: d.autoscaling.targetOngoingRequests,
				upscaleDelayMs: d.autoscaling.upscaleDelayS * 1000,
				downscaleDelayMs: d.autoscaling.downscaleDelayS * 1000,
			},
			d.replicas,
			ongoing,
			now,
			this.autoscaling.get(d.id) ?? INITIAL_AUTOSCALING_STATE,
		);
		this.autoscaling.set(d.id, decision.state);
		if (decision.change && decision.desired !== d.replicas) {
			const { from, to, reason } = decision.change;
			d.replicas = decision.desired;
			void this.deps.store.setReplicas(d.id, decision.desired);
			this.deps.autoscaled({
				tenant: d.tenantId,
				model: d.model,
				deploymentId: d.id,
				from,
				to,
				reason,
			});
		}
	}

	/**
	 * A deleted deployment's replica rows go with it, so no removal plan names them: its
	 * replicas are unloaded (and unpinned) here, on the nodes still up, from what was served.
	 */
	private unloadDeleted(
		deployments: readonly DeploymentRecord[],
		nodeByID: ReadonlyMap<string, ServingNode>,
	): void {
		for (const [key, { deployment }] of [...this.served]) {
			if (deployments.some(d => d.id === deployment.id)) continue;
			this.served.delete(key);
			const nodeID = key.slice(key.indexOf("\u0000") + 1);
			if (!nodeByID.get(nodeID)?.available) continue;
			this.deps.unload(nodeID, deployment).catch(err => {
				this.deps.warn(
					`Unloading deleted ${deployment.model} on ${nodeID} failed: ${String(err)}`,
				);
			});
		}
	}

	/**
	 * A ready replica whose deployment changed what it serves (traffic, shadow, batching) loads
	 * and pins the new versions and settings, and unpins the versions it no longer serves.
	 */
	private refreshChangedReplicas(
		deployments: readonly DeploymentRecord[],
		replicas: readonly PlacedReplicaRow[],
	): void {
		const live = new Set<string>();
		for (const r of replicas) {
			const d = deployments.find(x => x.id === r.deploymentId);
			if (!d) continue;
			const key = `${d.id}\u0000${r.nodeID}`;
			live.add(key);
			const served = servingSignature(d);
			const known = this.served.get(key);
			if (known === undefined) {
				this.served.set(key, { signature: served, deployment: d });
			} else if (
				known.signature !== served &&
				r.state === "ready" &&
				!this.loading.has(key)
			) {
				const dropped = servedVersions(known.deployment).filter(
					v => !servedVersions(d).some(now => now.versionId === v.versionId),
				);
				this.served.set(key, { signature: served, deployment: d });
				this.startLoad(r.nodeID, d, false);
				if (dropped.length > 0) {
					const onlyDropped: DeploymentRecord = {
						...known.deployment,
						traffic: dropped.map(v => ({ ...v, weight: 0 })),
						shadow: null,
					};
					this.deps.unload(r.nodeID, onlyDropped).catch(err => {
						this.deps.warn(
							`Unpinning old versions of ${d.model} on ${r.nodeID} failed: ${String(err)}`,
						);
					});
				}
			}
		}
		for (const key of [...this.served.keys()]) if (!live.has(key)) this.served.delete(key);
	}

	private startLoad(nodeID: string, d: DeploymentRecord, fresh = true): void {
		const job = `${d.id}\u0000${nodeID}`;
		if (this.loading.has(job)) return;
		this.loading.add(job);
		if (fresh) this.served.set(job, { signature: servingSignature(d), deployment: d });
		this.deps
			.load(nodeID, d)
			.then(
				() => (fresh ? this.deps.store.setReplicaState(d.id, nodeID, "ready") : undefined),
				async (err: unknown) => {
					const message = (err as Error).message ?? String(err);
					this.deps.warn(`Loading ${d.model} on ${nodeID} failed: ${message}`);
					this.backoff.set(d.id, {
						until: this.deps.now() + LOAD_RETRY_MS,
						reason: `loading on ${nodeID} failed: ${message}`,
					});
					await this.deps.store.removeReplica(d.id, nodeID);
				},
			)
			.catch(err => this.deps.warn(`Recording a load of ${d.model} failed: ${String(err)}`))
			.finally(() => {
				this.loading.delete(job);
				void this.trigger();
			});
	}

	private publish(
		deployments: readonly DeploymentRecord[],
		replicas: readonly PlacedReplicaRow[],
	): void {
		const table = routingTable(deployments, replicas);
		const text = JSON.stringify(table);
		if (text === this.lastTable) return;
		this.lastTable = text;
		this.deps.publish(table);
	}
}
