import { randomUUID } from "node:crypto";
import { and, asc, eq, gt } from "drizzle-orm";
import type { Scope } from "../accounts/access";
import { monitoringOf, type DeploymentMonitoring } from "../monitoring/monitoring-spec";
import type { BatchingOptions } from "../batching/batching-options";
import type { Db } from "../db/database";
import { isUniqueViolation } from "../db/migrate";
import { unfenced, type WriteFence } from "./leader-lease";
import { deploymentReplicas, deployments } from "../db/schema";
import { AlreadyExistsError, LeaseLostError, NotFoundError } from "../errors";
import { MODEL_NAME_PATTERN } from "../model-spec/model-name";
import { auditOk, decodeNameCursor, encodeCursor, type Page } from "../registry/registry-scope";
import type {
	DeploymentAutoscaling,
	DeploymentResources,
	ShadowTarget,
	TrafficEntry,
} from "./deployment-spec";

/** Where a deployment stands, as the reconciler last saw it. */
export type DeploymentStatus = "pending" | "deploying" | "running" | "degraded";

export type ReplicaState = "loading" | "ready";

export interface ReplicaView {
	nodeID: string;
	gpuIndex: number | null;
	state: ReplicaState;
	updatedAt: string;
}

export interface DeploymentRecord {
	id: string;
	tenantId: string;
	modelId: string;
	/** The deployment's name: the model it serves (one deployment per model). */
	model: string;
	replicas: number;
	minReplicas: number;
	maxReplicas: number;
	resources: DeploymentResources;
	batching: Partial<BatchingOptions>;
	autoscaling: DeploymentAutoscaling | null;
	traffic: TrafficEntry[];
	shadow: ShadowTarget | null;
	previousTraffic: TrafficEntry[] | null;
	monitoring: DeploymentMonitoring;
	status: DeploymentStatus;
	statusReason: string | null;
	createdAt: string;
	updatedAt: string;
}

export interface DeploymentView extends DeploymentRecord {
	placements: ReplicaView[];
	readyReplicas: number;
}

export interface NewDeployment {
	modelId: string;
	model: string;
	replicas: number;
	minReplicas: number;
	maxReplicas: number;
	resources: DeploymentResources;
	batching: Partial<BatchingOptions>;
	autoscaling: DeploymentAutoscaling | null;
	traffic: TrafficEntry[];
	shadow: ShadowTarget | null;
	monitoring: DeploymentMonitoring;
}

export type DeploymentPatch = Partial<
	Pick<
		DeploymentRecord,
		| "replicas"
		| "minReplicas"
		| "maxReplicas"
		| "resources"
		| "batching"
		| "autoscaling"
		| "traffic"
		| "shadow"
		| "previousTraffic"
		| "monitoring"
	>
>;

export interface PlacedReplicaRow {
	deploymentId: string;
	nodeID: string;
	gpuIndex: number | null;
	state: ReplicaState;
	updatedAt?: Date;
}

type Row = typeof deployments.$inferSelect;

function record(row: Row): DeploymentRecord {
	return {
		id: row.id,
		tenantId: row.tenantId,
		modelId: row.modelId,
		model: row.modelName,
		replicas: row.replicas,
		minReplicas: row.minReplicas,
		maxReplicas: row.maxReplicas,
		resources: row.resources as DeploymentResources,
		batching: row.batching as Partial<BatchingOptions>,
		autoscaling: (row.autoscaling as DeploymentAutoscaling | null) ?? null,
		traffic: row.traffic as TrafficEntry[],
		shadow: (row.shadow as ShadowTarget | null) ?? null,
		previousTraffic: (row.previousTraffic as TrafficEntry[] | null) ?? null,
		monitoring: monitoringOf(row.monitoring),
		status: row.status as DeploymentStatus,
		statusReason: row.statusReason,
		createdAt: row.createdAt.toISOString(),
		updatedAt: row.updatedAt.toISOString(),
	};
}

/**
 * Deployments and their replicas in the metadata database. Tenant-facing methods take the
 * caller's scope (another tenant's deployment is a 404); the reconciler's take ids.
 */
export class DeploymentStore {
	/**
	 * `fence` runs the reconciler's writes (placements, replica states, status, autoscaling):
	 * the scheduler passes its leadership lease, so a node that lost it writes nothing.
	 */
	constructor(
		private readonly db: Db,
		private readonly fence: WriteFence = unfenced(db),
	) {}

	async create(scope: Scope, input: NewDeployment): Promise<DeploymentView> {
		try {
			return await this.db.transaction(async tx => {
				const [row] = await tx
					.insert(deployments)
					.values({
						id: randomUUID(),
						tenantId: scope.tenantId,
						modelId: input.modelId,
						modelName: input.model,
						replicas: input.replicas,
						minReplicas: input.minReplicas,
						maxReplicas: input.maxReplicas,
						resources: input.resources,
						batching: input.batching,
						autoscaling: input.autoscaling,
						traffic: input.traffic,
						shadow: input.shadow,
						monitoring: input.monitoring,
						status: input.replicas > 0 ? "deploying" : "running",
					})
					.returning();
				await auditOk(tx, scope, "deployments.create", `deployment:${row.modelName}`, {
					replicas: input.replicas,
					traffic: input.traffic.map(t => `${t.version}:${t.weight}`),
				});
				return { ...record(row), placements: [], readyReplicas: 0 };
			});
		} catch (err) {
			if (isUniqueViolation(err)) {
				throw new AlreadyExistsError(
					"deployment",
					input.model,
					"A model has one deployment: change it with deployments.update (PATCH) or delete it first.",
				);
			}
			throw err;
		}
	}

	async get(scope: Scope, model: string): Promise<DeploymentView> {
		const [row] = await this.db
			.select()
			.from(deployments)
			.where(and(eq(deployments.tenantId, scope.tenantId), eq(deployments.modelName, model)));
		if (!row) throw new NotFoundError("deployment", model);
		return this.withReplicas(record(row));
	}

	/** Every deployment of the scope's tenant (its quotas count them). */
	async ofTenant(scope: Scope): Promise<DeploymentRecord[]> {
		const rows = await this.db
			.select()
			.from(deployments)
			.where(eq(deployments.tenantId, scope.tenantId));
		return rows.map(record);
	}

	async exists(scope: Scope, model: string): Promise<boolean> {
		const rows = await this.db
			.select({ id: deployments.id })
			.from(deployments)
			.where(and(eq(deployments.tenantId, scope.tenantId), eq(deployments.modelName, model)));
		return rows.length > 0;
	}

	/** The tenant's deployments by model name; `cursor` is the previous page's `nextCursor`. */
	async list(
		scope: Scope,
		query: { limit: number; cursor?: string },
	): Promise<Page<DeploymentView>> {
		const after = decodeNameCursor(query.cursor, MODEL_NAME_PATTERN);
		const rows = await this.db
			.select()
			.from(deployments)
			.where(
				and(
					eq(deployments.tenantId, scope.tenantId),
					...(after !== undefined ? [gt(deployments.modelName, after)] : []),
				),
			)
			.orderBy(asc(deployments.modelName))
			.limit(query.limit + 1);
		const page = rows.slice(0, query.limit);
		const replicas = await this.replicas();
		return {
			items: page.map(row => viewOf(record(row), replicas)),
			nextCursor:
				rows.length > query.limit ? encodeCursor(page[page.length - 1].modelName) : null,
		};
	}

	/** Every tenant's deployments: the reconciler's input. */
	async all(): Promise<DeploymentRecord[]> {
		const rows = await this.db.select().from(deployments).orderBy(asc(deployments.createdAt));
		return rows.map(record);
	}

	async update(scope: Scope, model: string, patch: DeploymentPatch): Promise<DeploymentView> {
		return this.db.transaction(async tx => {
			const [row] = await tx
				.update(deployments)
				.set({
					...(patch.replicas !== undefined ? { replicas: patch.replicas } : {}),
					...(patch.minReplicas !== undefined ? { minReplicas: patch.minReplicas } : {}),
					...(patch.maxReplicas !== undefined ? { maxReplicas: patch.maxReplicas } : {}),
					...(patch.resources !== undefined ? { resources: patch.resources } : {}),
					...(patch.batching !== undefined ? { batching: patch.batching } : {}),
					...(patch.autoscaling !== undefined ? { autoscaling: patch.autoscaling } : {}),
					...(patch.traffic !== undefined ? { traffic: patch.traffic } : {}),
					...(patch.shadow !== undefined ? { shadow: patch.shadow } : {}),
					...(patch.monitoring !== undefined ? { monitoring: patch.monitoring } : {}),
					...(patch.previousTraffic !== undefined
						? { previousTraffic: patch.previousTraffic }
						: {}),
					updatedAt: new Date(),
				})
				.where(
					and(eq(deployments.tenantId, scope.tenantId), eq(deployments.modelName, model)),
				)
				.returning();
			if (!row) throw new NotFoundError("deployment", model);
			await auditOk(tx, scope, "deployments.update", `deployment:${model}`, {
				fields: Object.keys(patch),
			});
			return this.withReplicas(record(row), tx);
		});
	}

	async delete(scope: Scope, model: string): Promise<DeploymentRecord> {
		return this.db.transaction(async tx => {
			const [row] = await tx
				.delete(deployments)
				.where(
					and(eq(deployments.tenantId, scope.tenantId), eq(deployments.modelName, model)),
				)
				.returning();
			if (!row) throw new NotFoundError("deployment", model);
			await auditOk(tx, scope, "deployments.delete", `deployment:${model}`);
			return record(row);
		});
	}

	/** The autoscaler's move: the desired count, within the bounds it already checked. */
	async setReplicas(id: string, replicas: number): Promise<void> {
		await this.fence.write(db =>
			db
				.update(deployments)
				.set({ replicas, updatedAt: new Date() })
				.where(eq(deployments.id, id)),
		);
	}

	async setStatus(id: string, status: DeploymentStatus, reason: string | null): Promise<void> {
		await this.fence.write(db =>
			db
				.update(deployments)
				.set({ status, statusReason: reason })
				.where(eq(deployments.id, id)),
		);
	}

	async replicas(): Promise<PlacedReplicaRow[]> {
		const rows = await this.db.select().from(deploymentReplicas);
		return rows.map(row => ({
			deploymentId: row.deploymentId,
			nodeID: row.nodeId,
			gpuIndex: row.gpuIndex,
			state: row.state as ReplicaState,
			updatedAt: row.updatedAt,
		}));
	}

	/** Records a replica being placed; false when the deployment is gone meanwhile. */
	async addReplica(
		deploymentId: string,
		nodeID: string,
		gpuIndex: number | null,
	): Promise<boolean> {
		try {
			await this.fence.write(db =>
				db
					.insert(deploymentReplicas)
					.values({ deploymentId, nodeId: nodeID, gpuIndex, state: "loading" })
					.onConflictDoNothing(),
			);
			return true;
		} catch (err) {
			if (err instanceof LeaseLostError) throw err;
			// Foreign key: the deployment was deleted while the reconciler planned.
			return false;
		}
	}

	async setReplicaState(
		deploymentId: string,
		nodeID: string,
		state: ReplicaState,
	): Promise<void> {
		await this.fence.write(db =>
			db
				.update(deploymentReplicas)
				.set({ state, updatedAt: new Date() })
				.where(
					and(
						eq(deploymentReplicas.deploymentId, deploymentId),
						eq(deploymentReplicas.nodeId, nodeID),
					),
				),
		);
	}

	async removeReplica(deploymentId: string, nodeID: string): Promise<void> {
		await this.fence.write(db =>
			db
				.delete(deploymentReplicas)
				.where(
					and(
						eq(deploymentReplicas.deploymentId, deploymentId),
						eq(deploymentReplicas.nodeId, nodeID),
					),
				),
		);
	}

	private async withReplicas(deployment: DeploymentRecord, db: Db = this.db) {
		const rows = await db
			.select()
			.from(deploymentReplicas)
			.where(eq(deploymentReplicas.deploymentId, deployment.id));
		return viewOf(
			deployment,
			rows.map(row => ({
				deploymentId: row.deploymentId,
				nodeID: row.nodeId,
				gpuIndex: row.gpuIndex,
				state: row.state as ReplicaState,
				updatedAt: row.updatedAt,
			})),
		);
	}
}

function viewOf(
	deployment: DeploymentRecord,
	replicas: readonly PlacedReplicaRow[],
): DeploymentView {
	const placements = replicas
		.filter(r => r.deploymentId === deployment.id)
		.map(r => ({
			nodeID: r.nodeID,
			gpuIndex: r.gpuIndex,
			state: r.state,
			updatedAt: (r.updatedAt ?? new Date(0)).toISOString(),
		}))
		.sort((a, b) => a.nodeID.localeCompare(b.nodeID));
	return {
		...deployment,
		placements,
		readyReplicas: placements.filter(p => p.state === "ready").length,
	};
}
