/**
 * Ground truth for captured predictions (`prediction_feedback`): one row per prediction row,
 * with what the model answered kept beside the truth, so a window of live accuracy needs no
 * join. Sending a row's truth again replaces it (and moves it to the end of the stream).
 */
import { and, asc, eq, gt, lt } from "drizzle-orm";
import type { Db } from "../db/database";
import { predictionFeedback } from "../db/schema";

export interface FeedbackRow {
	predictionId: string;
	rowIndex: number;
	version: string;
	truth: string | number;
	predicted: string | number;
}

export interface StoredFeedback extends FeedbackRow {
	seq: number;
	receivedAt: string;
}

export class FeedbackStore {
	constructor(private readonly db: Db) {}

	async upsert(tenantId: string, model: string, rows: readonly FeedbackRow[]): Promise<void> {
		if (rows.length === 0) return;
		await this.db.transaction(async tx => {
			for (const row of rows) {
				// Delete then insert: a replaced truth gets a new seq, so windows see it again.
				await tx
					.delete(predictionFeedback)
					.where(
						and(
							eq(predictionFeedback.tenantId, tenantId),
							eq(predictionFeedback.model, model),
							eq(predictionFeedback.predictionId, row.predictionId),
							eq(predictionFeedback.rowIndex, row.rowIndex),
						),
					);
			}
			await tx.insert(predictionFeedback).values(
				rows.map(row => ({
					tenantId,
					model,
					predictionId: row.predictionId,
					rowIndex: row.rowIndex,
					version: row.version,
					truth: row.truth,
					predicted: row.predicted,
				})),
			);
		});
	}

	/** A model's feedback after `afterSeq`, oldest first. */
	async after(
		tenantId: string,
		model: string,
		afterSeq: number,
		limit: number,
	): Promise<StoredFeedback[]> {
		const rows = await this.db
			.select()
			.from(predictionFeedback)
			.where(
				and(
					eq(predictionFeedback.tenantId, tenantId),
					eq(predictionFeedback.model, model),
					gt(predictionFeedback.seq, afterSeq),
				),
			)
			.orderBy(asc(predictionFeedback.seq))
			.limit(limit);
		return rows.map(row => ({
			seq: row.seq,
			predictionId: row.predictionId,
			rowIndex: row.rowIndex,
			version: row.version,
			truth: row.truth as string | number,
			predicted: row.predicted as string | number,
			receivedAt: row.receivedAt.toISOString(),
		}));
	}

	async deleteBefore(cutoff: Date): Promise<void> {
		await this.db.delete(predictionFeedback).where(lt(predictionFeedback.receivedAt, cutoff));
	}
}
