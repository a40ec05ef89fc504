/**
 * The persisted studies (table `studies`): the validated request, the state, the best trial
 * and the outcome. Its trials are training jobs (the scheduler's job store), found by study id.
 * The study loop's writes go through the leader's fence, as the training queue's do.
 */
import { randomUUID } from "node:crypto";
import { and, desc, eq, lt, sql } from "drizzle-orm";
import type { Scope } from "../accounts/access";
import type { Db } from "../db/database";
import { studies } from "../db/schema";
import { NotFoundError, StateConflictError } from "../errors";
import { auditOk, decodeSeqCursor, encodeCursor, type Page } from "../registry/registry-scope";
import type { WriteFence } from "../scheduler/leader-lease";
import type { BestTrial } from "./study-plan";
import type { StudySpec } from "./study-spec";

export const STUDY_STATES = ["running", "registering", "completed", "failed", "cancelled"] as const;
export type StudyState = (typeof STUDY_STATES)[number];

/** The best trial, with the version it was registered as once the study completed. */
export type StudyBest = BestTrial & { version?: string | null };

export interface StudyRecord {
	id: string;
	tenantId: string;
	name: string;
	model: string;
	datasetId: string;
	spec: StudySpec;
	state: StudyState;
	best: StudyBest | null;
	error: string | null;
	createdAt: string;
	finishedAt: string | null;
}

type Row = typeof studies.$inferSelect;

function record(row: Row): StudyRecord {
	return {
		id: row.id,
		tenantId: row.tenantId,
		name: row.name,
		model: row.modelName,
		datasetId: row.datasetId,
		spec: row.spec as StudySpec,
		state: row.state as StudyState,
		best: (row.best as StudyBest | null) ?? null,
		error: row.error,
		createdAt: row.createdAt.toISOString(),
		finishedAt: row.finishedAt?.toISOString() ?? null,
	};
}

export class StudyStore {
	/** `fence`: the leader's lease (the study loop's writes); the client's own writes are not fenced. */
	constructor(
		private readonly db: Db,
		private readonly fence: WriteFence,
	) {}

	async create(
		scope: Scope,
		study: { name: string; model: string; datasetId: string; spec: StudySpec },
	): Promise<StudyRecord> {
		return this.db.transaction(async tx => {
			const [row] = await tx
				.insert(studies)
				.values({
					id: randomUUID(),
					tenantId: scope.tenantId,
					name: study.name,
					modelName: study.model,
					datasetId: study.datasetId,
					spec: study.spec,
					state: "running",
				})
				.returning();
			await auditOk(tx, scope, "studies.create", `study:${row.id}`, { model: study.model });
			return record(row);
		});
	}

	async get(scope: Scope, id: string): Promise<StudyRecord> {
		const [row] = await this.db
			.select()
			.from(studies)
			.where(and(eq(studies.tenantId, scope.tenantId), eq(studies.id, id)));
		if (!row) throw new NotFoundError("study", id);
		return record(row);
	}

	async list(
		scope: Scope,
		query: { state?: StudyState; limit: number; cursor?: string },
	): Promise<Page<StudyRecord>> {
		const after = decodeSeqCursor(query.cursor);
		const rows = await this.db
			.select()
			.from(studies)
			.where(
				and(
					eq(studies.tenantId, scope.tenantId),
					...(query.state ? [eq(studies.state, query.state)] : []),
					...(after !== undefined ? [lt(studies.seq, after)] : []),
				),
			)
			.orderBy(desc(studies.seq))
			.limit(query.limit + 1);
		const page = rows.slice(0, query.limit);
		return {
			items: page.map(record),
			nextCursor: rows.length > query.limit ? encodeCursor(page[page.length - 1].seq) : null,
		};
	}

	/** Studies still searching or registering, every tenant's: the study loop's work. */
	async active(): Promise<StudyRecord[]> {
		const rows = await this.db
			.select()
			.from(studies)
			.where(sql`${studies.state} IN ('running', 'registering')`)
			.orderBy(studies.seq);
		return rows.map(record);
	}

	/** Moves a study on (the leader's write); false when it was no longer in `from`. */
	async advance(
		id: string,
		from: StudyState,
		change: { state?: StudyState; best?: StudyBest | null; error?: string | null },
	): Promise<boolean> {
		const over =
			change.state !== undefined && !["running", "registering"].includes(change.state);
		const rows = await this.fence.write(db =>
			db
				.update(studies)
				.set({
					...(change.state !== undefined ? { state: change.state } : {}),
					...(change.best !== undefined ? { best: change.best } : {}),
					...(change.error !== undefined ? { error: change.error } : {}),
					...(over ? { finishedAt: new Date() } : {}),
					updatedAt: new Date(),
				})
				.where(and(eq(studies.id, id), eq(studies.state, from)))
				.returning({ id: studies.id }),
		);
		return rows.length === 1;
	}

	/** Cancels a running study (its trials are stopped by the caller). */
	async cancel(scope: Scope, id: string): Promise<StudyRecord> {
		return this.db.transaction(async tx => {
			const [row] = await tx
				.update(studies)
				.set({ state: "cancelled", finishedAt: new Date(), updatedAt: new Date() })
				.where(
					and(
						eq(studies.tenantId, scope.tenantId),
						eq(studies.id, id),
						sql`${studies.state} IN ('running', 'registering')`,
					),
				)
				.returning();
			if (!row) {
				// Inside the transaction: PGlite has one connection, a read beside it would wait forever.
				const [current] = await tx
					.select({ state: studies.state })
					.from(studies)
					.where(and(eq(studies.tenantId, scope.tenantId), eq(studies.id, id)));
				if (!current) throw new NotFoundError("study", id);
				throw new StateConflictError(
					`Study ${id} is ${current.state}; only a running study can be cancelled.`,
					{ state: current.state },
				);
			}
			await auditOk(tx, scope, "studies.cancel", `study:${id}`);
			return record(row);
		});
	}
}
