/**
 * Windows computed over captures and feedback (`monitoring_windows`): drift, live accuracy
 * (`performance`) and health, each with its report. The last window of a kind is also the
 * cursor of the next: it holds the seq of the last capture or feedback row it took.
 */
import { and, desc, eq, lt } from "drizzle-orm";
import type { Db } from "../db/database";
import { monitoringWindows } from "../db/schema";

export type WindowKind = "drift" | "performance" | "health";

export interface WindowInput {
	kind: WindowKind;
	lastSeq: number;
	startedAt: Date;
	endedAt: Date;
	rows: number;
	status: string;
	report: unknown;
}

export interface WindowView {
	id: number;
	kind: WindowKind;
	startedAt: string;
	endedAt: string;
	rows: number;
	status: string;
	report: unknown;
	lastSeq: number;
}

export class WindowStore {
	constructor(private readonly db: Db) {}

	async append(tenantId: string, model: string, input: WindowInput): Promise<WindowView> {
		const [row] = await this.db
			.insert(monitoringWindows)
			.values({
				tenantId,
				model,
				kind: input.kind,
				lastSeq: input.lastSeq,
				startedAt: input.startedAt,
				endedAt: input.endedAt,
				rowCount: input.rows,
				status: input.status,
				report: input.report,
			})
			.returning();
		return view(row);
	}

	/** A model's windows of a kind, newest first. */
	async latest(
		tenantId: string,
		model: string,
		kind: WindowKind,
		limit: number,
	): Promise<WindowView[]> {
		const rows = await this.db
			.select()
			.from(monitoringWindows)
			.where(
				and(
					eq(monitoringWindows.tenantId, tenantId),
					eq(monitoringWindows.model, model),
					eq(monitoringWindows.kind, kind),
				),
			)
			.orderBy(desc(monitoringWindows.id))
			.limit(limit);
		return rows.map(view);
	}

	async deleteBefore(cutoff: Date): Promise<void> {
		await this.db.delete(monitoringWindows).where(lt(monitoringWindows.createdAt, cutoff));
	}
}

function view(row: typeof monitoringWindows.$inferSelect): WindowView {
	return {
		id: row.id,
		kind: row.kind as WindowKind,
		startedAt: row.startedAt.toISOString(),
		endedAt: row.endedAt.toISOString(),
		rows: row.rowCount,
		status: row.status,
		report: row.report,
		lastSeq: row.lastSeq,
	};
}
