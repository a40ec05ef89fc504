/**
 * The usage tables (usage_hourly, usage_flushes, usage_storage_daily), owned by the accounts
 * service. A flush is applied in one transaction with its key: the key already there means the
 * flush was applied before, and nothing is added again.
 */
import { and, asc, eq, gte, lt, sql, type SQL } from "drizzle-orm";
import type { Db } from "../db/database";
import { usageFlushes, usageHourly, usageStorageDaily } from "../db/schema";
import { USAGE_FIELDS, type UsageRow } from "./usage-counts";
import type { FlushRecord } from "./usage-meter";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** One tenant's stored bytes, as a snapshot measures them. */
export interface StoredBytes {
	tenant: string;
	artifactsBytes: number;
	datasetsBytes: number;
	capturesBytes: number;
}

export interface StorageDay extends StoredBytes {
	/** The UTC day, ISO 8601 (its midnight). */
	day: string;
}

export interface HourlyQuery {
	/** null: every tenant (admins). */
	tenant: string | null;
	from: Date;
	to: Date;
	model?: string;
}

export class UsageStore {
	constructor(private readonly db: Db) {}

	/** Applies a flush once: true when it was new, false when its key was applied before. */
	applyFlush(record: FlushRecord): Promise<boolean> {
		return this.db.transaction(async tx => {
			const claimed = await tx
				.insert(usageFlushes)
				.values({ node: record.node, incarnation: record.incarnation, seq: record.seq })
				.onConflictDoNothing()
				.returning({ seq: usageFlushes.seq });
			if (claimed.length === 0) return false;
			for (const row of record.rows) {
				// A tenant id that is no uuid names no tenant (PostgreSQL would refuse the row).
				if (!UUID.test(row.tenant)) continue;
				const counts = Object.fromEntries(USAGE_FIELDS.map(f => [f, row[f]]));
				const sums = Object.fromEntries(
					USAGE_FIELDS.map(f => {
						const column = usageHourly[f];
						return [f, sql`${column} + excluded.${sql.identifier(column.name)}`];
					}),
				) as Record<(typeof USAGE_FIELDS)[number], SQL>;
				await tx
					.insert(usageHourly)
					.values({
						tenantId: row.tenant,
						model: row.model,
						version: row.version,
						hour: new Date(row.hour),
						...counts,
					})
					.onConflictDoUpdate({
						target: [
							usageHourly.tenantId,
							usageHourly.model,
							usageHourly.version,
							usageHourly.hour,
						],
						set: sums,
					});
			}
			return true;
		});
	}

	/** The hourly rows in [from, to), oldest first. */
	async hourly(query: HourlyQuery): Promise<UsageRow[]> {
		const where = [gte(usageHourly.hour, query.from), lt(usageHourly.hour, query.to)];
		if (query.tenant !== null) where.push(eq(usageHourly.tenantId, query.tenant));
		if (query.model !== undefined) where.push(eq(usageHourly.model, query.model));
		const rows = await this.db
			.select()
			.from(usageHourly)
			.where(and(...where))
			.orderBy(
				asc(usageHourly.hour),
				asc(usageHourly.tenantId),
				asc(usageHourly.model),
				asc(usageHourly.version),
			);
		return rows.map(r => ({
			tenant: r.tenantId,
			model: r.model,
			version: r.version,
			hour: r.hour.toISOString(),
			...Object.fromEntries(USAGE_FIELDS.map(f => [f, Number(r[f])])),
		})) as UsageRow[];
	}

	/** Records a snapshot of stored bytes for `day`: each figure keeps the day's largest. */
	async recordStorage(day: Date, snapshot: readonly StoredBytes[]): Promise<void> {
		for (const s of snapshot) {
			if (!UUID.test(s.tenant)) continue;
			await this.db
				.insert(usageStorageDaily)
				.values({
					tenantId: s.tenant,
					day,
					artifactsBytes: s.artifactsBytes,
					datasetsBytes: s.datasetsBytes,
					capturesBytes: s.capturesBytes,
				})
				.onConflictDoUpdate({
					target: [usageStorageDaily.tenantId, usageStorageDaily.day],
					set: {
						artifactsBytes: sql`greatest(${usageStorageDaily.artifactsBytes}, excluded.artifacts_bytes)`,
						datasetsBytes: sql`greatest(${usageStorageDaily.datasetsBytes}, excluded.datasets_bytes)`,
						capturesBytes: sql`greatest(${usageStorageDaily.capturesBytes}, excluded.captures_bytes)`,
						measuredAt: sql`now()`,
					},
				});
		}
	}

	/** Stored bytes per tenant and day in [from, to). */
	async storage(query: Omit<HourlyQuery, "model">): Promise<StorageDay[]> {
		const where = [gte(usageStorageDaily.day, query.from), lt(usageStorageDaily.day, query.to)];
		if (query.tenant !== null) where.push(eq(usageStorageDaily.tenantId, query.tenant));
		const rows = await this.db
			.select()
			.from(usageStorageDaily)
			.where(and(...where))
			.orderBy(asc(usageStorageDaily.day), asc(usageStorageDaily.tenantId));
		return rows.map(r => ({
			tenant: r.tenantId,
			day: r.day.toISOString(),
			artifactsBytes: Number(r.artifactsBytes),
			datasetsBytes: Number(r.datasetsBytes),
			capturesBytes: Number(r.capturesBytes),
		}));
	}

	/** Forgets flush keys older than `before`: no node retries a flush that long. */
	async pruneFlushes(before: Date): Promise<void> {
		await this.db.delete(usageFlushes).where(lt(usageFlushes.appliedAt, before));
	}
}
