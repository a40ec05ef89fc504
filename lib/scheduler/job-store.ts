import { randomUUID } from "node:crypto";
import { and, asc, desc, eq, lt, sql } from "drizzle-orm";
import type { Scope } from "../accounts/access";
import type { Db } from "../db/database";
import { unfenced, type WriteFence } from "./leader-lease";
import { trainingJobs } from "../db/schema";
import { NotFoundError, StateConflictError } from "../errors";
import { auditOk, decodeSeqCursor, encodeCursor, type Page } from "../registry/registry-scope";
import {
	decodeRunCursor,
	encodeRunCursor,
	positionOf,
	runMetric,
	runOrderBy,
	runsAfter,
	type RunSort,
} from "./run-order";

export const JOB_STATES = ["queued", "running", "completed", "failed", "cancelled"] as const;
export type JobState = (typeof JOB_STATES)[number];

/** A job that failed on this many nodes is Failed for good. */
export const MAX_JOB_ATTEMPTS = 3;

export interface JobFailure {
	nodeID: string | null;
	reason: string;
	at: string;
	/** Data-parallel jobs: the gang node that was lost; the next attempt runs without it. */
	lostNodeID?: string;
}

export interface JobProgress {
	epoch: number;
	metrics: Record<string, number>;
	samplesPerSecond: number;
	etaMs: number;
	/** Data-parallel jobs: the epoch's gradient exchanges (lib/events.ts DataParallelCost). */
	communication?: { workers: number; msPerStep: number; bytesPerStep: number };
	nodeID: string;
	at: string;
}

export interface JobCheckpoint {
	sha256: string;
	epoch: number;
	size: number;
}

export interface JobView {
	id: string;
	model: string;
	datasetId: string;
	state: JobState;
	priority: number;
	gpu: boolean;
	nodeID: string | null;
	attempts: number;
	failures: JobFailure[];
	epoch: number;
	checkpoint: JobCheckpoint | null;
	progress: JobProgress[];
	backend: string | null;
	result: Record<string, unknown> | null;
	error: string | null;
	/** Why a queued job is not running yet (`no trainer with a free GPU`). */
	waitingReason: string | null;
	/** Data-parallel: trainers the next (or running) attempt runs on; 1 for a one-worker job. */
	workers?: number;
	/** Data-parallel: the running attempt's nodes in rank order (rank 0 is `nodeID`); else []. */
	gang?: string[];
	spec: Record<string, unknown>;
	createdAt: string;
	startedAt: string | null;
	finishedAt: string | null;
	deadlineAt: string | null;
	/** The study this job is a trial segment of (lib/studies); null for a plain job. */
	study?: { id: string; trial: number; rung: number } | null;
	/** The run's tags. */
	tags?: string[];
}

/** What the dispatcher needs of a job (every tenant's). */
export interface QueuedJob {
	id: string;
	tenantId: string;
	model: string;
	priority: number;
	gpu: boolean;
	seq: number;
	nodeID: string | null;
	state: JobState;
	deadlineAt: number | null;
	attempts: number;
	/** Trainers the job runs on: 1 (also when absent), or a data-parallel job's gang size. */
	workers?: number;
	/** A running data-parallel attempt's nodes, rank order; else [] or absent. */
	gang?: string[];
	/** Gang nodes its failures named lost, and when (ms since the epoch). */
	lostNodes?: Array<{ nodeID: string; at: number }>;
}

type Row = typeof trainingJobs.$inferSelect;

function view(row: Row): JobView {
	return {
		id: row.id,
		model: row.modelName,
		datasetId: row.datasetId,
		state: row.state as JobState,
		priority: row.priority,
		gpu: row.gpu,
		nodeID: row.nodeId,
		attempts: row.attempts,
		failures: row.failures as JobFailure[],
		epoch: row.epoch,
		checkpoint: (row.checkpoint as JobCheckpoint | null) ?? null,
		progress: row.progress as JobProgress[],
		backend: row.backend,
		result: (row.result as Record<string, unknown> | null) ?? null,
		error: row.error,
		waitingReason: row.waitingReason,
		workers: row.workers,
		gang: row.gang as string[],
		spec: row.spec as Record<string, unknown>,
		createdAt: row.createdAt.toISOString(),
		startedAt: row.startedAt?.toISOString() ?? null,
		finishedAt: row.finishedAt?.toISOString() ?? null,
		deadlineAt: row.deadlineAt?.toISOString() ?? null,
		study:
			row.studyId !== null
				? { id: row.studyId, trial: row.trial ?? 0, rung: row.rung ?? 0 }
				: null,
		tags: (row.tags as string[] | null) ?? [],
	};
}

function queued(row: Row): QueuedJob {
	return {
		id: row.id,
		tenantId: row.tenantId,
		model: row.modelName,
		priority: row.priority,
		gpu: row.gpu,
		seq: row.seq,
		nodeID: row.nodeId,
		state: row.state as JobState,
		deadlineAt: row.deadlineAt?.getTime() ?? null,
		attempts: row.attempts,
		workers: row.workers,
		gang: row.gang as string[],
		lostNodes: (row.failures as JobFailure[])
			.filter(f => f.lostNodeID !== undefined)
			.map(f => ({ nodeID: f.lostNodeID as string, at: Date.parse(f.at) })),
	};
}

export interface NewJob {
	model: string;
	datasetId: string;
	spec: Record<string, unknown>;
	priority: number;
	gpu: boolean;
	deadlineAt: Date | null;
	/** Data-parallel: trainers to run on. Default 1. */
	workers?: number;
	/** A study's trial segment: the study, trial and rung (unique together). */
	study?: { id: string; trial: number; rung: number };
	/** Where the job starts from (a study's next rung resumes the last one's checkpoint). */
	checkpoint?: JobCheckpoint | null;
	tags?: string[];
}

/** What runs may be filtered by (GET /api/v1/runs). */
export interface RunFilter {
	studyId?: string;
	model?: string;
	tag?: string;
}

/**
 * The persisted training queue. State changes that race (dispatch, a trainer's report, a node
 * loss, a cancel) are conditional updates on the state they expect, so each happens once.
 */
export class JobStore {
	/**
	 * `fence` runs the dispatcher's and the trainers' reports' writes (claims, progress,
	 * completion, failures, deadlines): the scheduler passes its leadership lease, so a node
	 * that lost it writes nothing. Enqueue and cancel are the caller's own writes, unfenced.
	 */
	constructor(
		private readonly db: Db,
		private readonly fence: WriteFence = unfenced(db),
	) {}

	async enqueue(scope: Scope, job: NewJob): Promise<JobView> {
		return this.db.transaction(async tx => {
			const [row] = await tx
				.insert(trainingJobs)
				.values({
					id: randomUUID(),
					tenantId: scope.tenantId,
					modelName: job.model,
					datasetId: job.datasetId,
					spec: job.spec,
					priority: job.priority,
					gpu: job.gpu,
					state: "queued",
					deadlineAt: job.deadlineAt,
					workers: job.workers ?? 1,
					studyId: job.study?.id ?? null,
					trial: job.study?.trial ?? null,
					rung: job.study?.rung ?? null,
					checkpoint: job.checkpoint ?? null,
					epoch: job.checkpoint?.epoch ?? 0,
					tags: job.tags ?? [],
				})
				.returning();
			await auditOk(tx, scope, "jobs.enqueue", `job:${row.id}`, { model: job.model });
			return view(row);
		});
	}

	async get(scope: Scope, id: string): Promise<JobView> {
		const [row] = await this.db
			.select()
			.from(trainingJobs)
			.where(and(eq(trainingJobs.tenantId, scope.tenantId), eq(trainingJobs.id, id)));
		if (!row) throw new NotFoundError("training job", id);
		return view(row);
	}

	/** A job by id whatever its tenant: for the scheduler's own bookkeeping. */
	async byId(id: string): Promise<(JobView & { tenantId: string }) | null> {
		const [row] = await this.db.select().from(trainingJobs).where(eq(trainingJobs.id, id));
		return row ? { ...view(row), tenantId: row.tenantId } : null;
	}

	/** A study's jobs (its trial segments), whatever the tenant: for the study loop. */
	async ofStudy(studyId: string): Promise<JobView[]> {
		const rows = await this.db
			.select()
			.from(trainingJobs)
			.where(eq(trainingJobs.studyId, studyId))
			.orderBy(asc(trainingJobs.seq));
		return rows.map(view);
	}

	/**
	 * A page of the tenant's jobs matching a run filter, in the runs list's order
	 * (run-order.ts), sorted and paged by the database; `cursor` is the previous page's
	 * `nextCursor`.
	 */
	async runs(
		scope: Scope,
		filter: RunFilter,
		sort: RunSort,
		page: { limit: number; cursor?: string },
	): Promise<Page<JobView>> {
		const after = decodeRunCursor(page.cursor, sort);
		const sortValue = sort.metric === null ? sql<null>`NULL::float8` : runMetric(sort.metric);
		const rows = await this.db
			.select({ job: trainingJobs, sortValue: sortValue.as("sort_value") })
			.from(trainingJobs)
			.where(
				and(
					eq(trainingJobs.tenantId, scope.tenantId),
					...(filter.studyId ? [eq(trainingJobs.studyId, filter.studyId)] : []),
					...(filter.model ? [eq(trainingJobs.modelName, filter.model)] : []),
					...(filter.tag
						? [sql`${trainingJobs.tags} @> ${JSON.stringify([filter.tag])}::jsonb`]
						: []),
					...(after !== undefined ? [runsAfter(sort, after)] : []),
				),
			)
			.orderBy(...runOrderBy(sort))
			.limit(page.limit + 1);
		const items = rows.slice(0, page.limit);
		const last = items[items.length - 1];
		return {
			items: items.map(row => view(row.job)),
			nextCursor:
				rows.length > page.limit
					? encodeRunCursor(
							sort,
							positionOf({ seq: last.job.seq, sortValue: last.sortValue }),
						)
					: null,
		};
	}

	/** Replaces a job's tags. */
	async setTags(scope: Scope, id: string, tags: string[]): Promise<JobView> {
		return this.db.transaction(async tx => {
			const [row] = await tx
				.update(trainingJobs)
				.set({ tags })
				.where(and(eq(trainingJobs.tenantId, scope.tenantId), eq(trainingJobs.id, id)))
				.returning();
			if (!row) throw new NotFoundError("run", id);
			await auditOk(tx, scope, "runs.tag", `job:${id}`, { tags });
			return view(row);
		});
	}

	/** The tenant's jobs, newest first; `cursor` is the previous page's `nextCursor`. */
	/** The scope's tenant's jobs queued or running (its concurrent-jobs quota counts them). */
	async countActive(scope: Scope): Promise<number> {
		const rows = await this.db
			.select({ id: trainingJobs.id })
			.from(trainingJobs)
			.where(
				and(
					eq(trainingJobs.tenantId, scope.tenantId),
					sql`${trainingJobs.state} IN ('queued', 'running')`,
				),
			);
		return rows.length;
	}

	async list(
		scope: Scope,
		query: { state?: JobState; limit: number; cursor?: string },
	): Promise<Page<JobView>> {
		const after = decodeSeqCursor(query.cursor);
		const rows = await this.db
			.select()
			.from(trainingJobs)
			.where(
				and(
					eq(trainingJobs.tenantId, scope.tenantId),
					...(query.state ? [eq(trainingJobs.state, query.state)] : []),
					...(after !== undefined ? [lt(trainingJobs.seq, after)] : []),
				),
			)
			.orderBy(desc(trainingJobs.seq))
			.limit(query.limit + 1);
		const page = rows.slice(0, query.limit);
		return {
			items: page.map(view),
			nextCursor: rows.length > query.limit ? encodeCursor(page[page.length - 1].seq) : null,
		};
	}

	/** Queued and running jobs of every tenant, in dispatch order: priority, then submission. */
	async active(): Promise<QueuedJob[]> {
		const rows = await this.db
			.select()
			.from(trainingJobs)
			.where(sql`${trainingJobs.state} IN ('queued', 'running')`)
			.orderBy(desc(trainingJobs.priority), asc(trainingJobs.seq));
		return rows.map(queued);
	}

	/**
	 * Queued → running on a node (a data-parallel job: on `gang`, rank 0 first, which is
	 * `nodeID`); false when someone else moved it first.
	 */
	async claim(id: string, nodeID: string, gang: string[] = []): Promise<boolean> {
		const rows = await this.fence.write(db =>
			db
				.update(trainingJobs)
				.set({
					state: "running",
					nodeId: nodeID,
					gang,
					attempts: sql`${trainingJobs.attempts} + 1`,
					waitingReason: null,
					startedAt: sql`COALESCE(${trainingJobs.startedAt}, now())`,
					updatedAt: new Date(),
				})
				.where(and(eq(trainingJobs.id, id), eq(trainingJobs.state, "queued")))
				.returning({ id: trainingJobs.id }),
		);
		return rows.length === 1;
	}

	async setWaiting(id: string, reason: string | null): Promise<void> {
		await this.fence.write(db =>
			db
				.update(trainingJobs)
				.set({ waitingReason: reason })
				.where(and(eq(trainingJobs.id, id), eq(trainingJobs.state, "queued"))),
		);
	}

	async recordStarted(id: string, nodeID: string, backend: string): Promise<void> {
		await this.fence.write(db =>
			db
				.update(trainingJobs)
				.set({ backend, updatedAt: new Date() })
				.where(and(eq(trainingJobs.id, id), eq(trainingJobs.nodeId, nodeID))),
		);
	}

	async recordProgress(id: string, progress: JobProgress): Promise<void> {
		await this.fence.write(db =>
			db
				.update(trainingJobs)
				.set({
					epoch: progress.epoch,
					progress: sql`${trainingJobs.progress} || ${JSON.stringify([progress])}::jsonb`,
					updatedAt: new Date(),
				})
				.where(and(eq(trainingJobs.id, id), eq(trainingJobs.state, "running"))),
		);
	}

	/**
	 * A trainer stores checkpoints while it trains on, so their reports can arrive out of order:
	 * an older one never replaces a newer one.
	 */
	async recordCheckpoint(id: string, checkpoint: JobCheckpoint): Promise<void> {
		await this.fence.write(db =>
			db
				.update(trainingJobs)
				.set({ checkpoint, updatedAt: new Date() })
				.where(
					and(
						eq(trainingJobs.id, id),
						sql`(${trainingJobs.checkpoint} IS NULL OR (${trainingJobs.checkpoint}->>'epoch')::int < ${checkpoint.epoch})`,
					),
				),
		);
	}

	/**
	 * Running → completed; false when it was not running (a repeated report) or, with `attempt`,
	 * when that attempt is no longer the running one (a late report of an earlier run).
	 * `lastEpoch` is appended to the progress when the job's record has not reached its epoch;
	 * `checkpoint` kept when newer than the recorded one.
	 */
	async complete(
		id: string,
		result: Record<string, unknown>,
		report: { attempt?: number; lastEpoch?: JobProgress; checkpoint?: JobCheckpoint } = {},
	): Promise<boolean> {
		const { attempt, lastEpoch, checkpoint } = report;
		// The last epoch's progress and checkpoint, when their own reports never arrived (lost
		// in a control outage); an older checkpoint never replaces a newer one.
		const progress =
			lastEpoch === undefined
				? {}
				: {
						epoch: sql`GREATEST(${trainingJobs.epoch}, ${lastEpoch.epoch})`,
						progress: sql`CASE WHEN ${trainingJobs.epoch} < ${lastEpoch.epoch} THEN ${trainingJobs.progress} || ${JSON.stringify([lastEpoch])}::jsonb ELSE ${trainingJobs.progress} END`,
					};
		const stored =
			checkpoint === undefined
				? {}
				: {
						checkpoint: sql`CASE WHEN ${trainingJobs.checkpoint} IS NULL OR (${trainingJobs.checkpoint}->>'epoch')::int < ${checkpoint.epoch} THEN ${JSON.stringify(checkpoint)}::jsonb ELSE ${trainingJobs.checkpoint} END`,
					};
		const rows = await this.fence.write(db =>
			db
				.update(trainingJobs)
				.set({
					state: "completed",
					result,
					finishedAt: new Date(),
					updatedAt: new Date(),
					...progress,
					...stored,
				})
				.where(
					and(
						eq(trainingJobs.id, id),
						eq(trainingJobs.state, "running"),
						attempt !== undefined ? eq(trainingJobs.attempts, attempt) : undefined,
					),
				)
				.returning({ id: trainingJobs.id }),
		);
		return rows.length === 1;
	}

	/**
	 * A run that ended without a result (its node was lost, or the trainer failed): back to the
	 * queue to resume from its checkpoint, or Failed for good after MAX_JOB_ATTEMPTS tries or
	 * when `final`. Answers the state it is in now (null: it was not running there).
	 * A data-parallel job fails from any of its gang's nodes (`failure.attempt`, when given,
	 * must be the running one: a late report of an earlier attempt changes nothing); with
	 * `failure.lostNodeID` its next attempt runs on one trainer fewer.
	 */
	async runFailed(
		id: string,
		nodeID: string | null,
		reason: string,
		final = false,
		failure: { lostNodeID?: string; attempt?: number } = {},
	): Promise<JobState | null> {
		return this.fence.write(async tx => {
			const [row] = await tx
				.select()
				.from(trainingJobs)
				.where(and(eq(trainingJobs.id, id), eq(trainingJobs.state, "running")))
				.for("update");
			const gang = row?.gang as string[] | undefined;
			if (
				!row ||
				(nodeID !== null && row.nodeId !== nodeID && !gang?.includes(nodeID)) ||
				(failure.attempt !== undefined && failure.attempt !== row.attempts)
			)
				return null;
			const { lostNodeID } = failure;
			const failures: JobFailure[] = [
				...(row.failures as JobFailure[]),
				{
					nodeID,
					reason,
					at: new Date().toISOString(),
					...(lostNodeID ? { lostNodeID } : {}),
				},
			];
			const over = final || row.attempts >= MAX_JOB_ATTEMPTS;
			const state: JobState = over ? "failed" : "queued";
			await tx
				.update(trainingJobs)
				.set({
					state,
					nodeId: over ? row.nodeId : null,
					failures,
					...(over ? {} : { gang: [] }),
					...(lostNodeID && gang && gang.length > 1
						? { workers: Math.max(1, Math.min(row.workers, gang.length - 1)) }
						: {}),
					error: over
						? failures.map(f => `${f.nodeID ?? "scheduler"}: ${f.reason}`).join("; ")
						: null,
					finishedAt: over ? new Date() : null,
					updatedAt: new Date(),
				})
				.where(eq(trainingJobs.id, id));
			return state;
		});
	}

	/** Cancels a queued or running job; answers the node a running one must be stopped on. */
	async cancel(scope: Scope, id: string): Promise<{ job: JobView; stopOn: string | null }> {
		return this.db.transaction(async tx => {
			const [row] = await tx
				.select()
				.from(trainingJobs)
				.where(and(eq(trainingJobs.tenantId, scope.tenantId), eq(trainingJobs.id, id)))
				.for("update");
			if (!row) throw new NotFoundError("training job", id);
			if (row.state !== "queued" && row.state !== "running") {
				throw new StateConflictError(
					`Training job ${id} is ${row.state}; only queued or running jobs can be cancelled.`,
					{ state: row.state },
				);
			}
			const [updated] = await tx
				.update(trainingJobs)
				.set({ state: "cancelled", finishedAt: new Date(), updatedAt: new Date() })
				.where(eq(trainingJobs.id, id))
				.returning();
			await auditOk(tx, scope, "jobs.cancel", `job:${id}`);
			return { job: view(updated), stopOn: row.state === "running" ? row.nodeId : null };
		});
	}

	/** Blobs the jobs' checkpoints hold: artifact GC keeps them. */
	async referencedArtifacts(): Promise<string[]> {
		const jobs = await this.db
			.select({ checkpoint: trainingJobs.checkpoint })
			.from(trainingJobs);
		return jobs
			.map(j => (j.checkpoint as { sha256?: string } | null)?.sha256)
			.filter((s): s is string => typeof s === "string");
	}

	/** Queued jobs whose deadline passed: Failed with the reason. */
	async expire(id: string, reason: string): Promise<boolean> {
		const rows = await this.fence.write(db =>
			db
				.update(trainingJobs)
				.set({
					state: "failed",
					error: reason,
					finishedAt: new Date(),
					updatedAt: new Date(),
				})
				.where(
					and(
						eq(trainingJobs.id, id),
						sql`${trainingJobs.state} IN ('queued', 'running')`,
					),
				)
				.returning({ id: trainingJobs.id }),
		);
		return rows.length === 1;
	}
}
