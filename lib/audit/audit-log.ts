import { and, desc, eq, lt, type SQL } from "drizzle-orm";
import type { Db } from "../db/database";
import { auditLog } from "../db/schema";

/** What happened: one row a mutation, written in the mutation's own transaction. */
export interface AuditEntry {
	tenantId: string | null;
	keyId: string | null;
	/** e.g. "models.create", "versions.transition", "aliases.set". */
	action: string;
	/** What it acted on, e.g. "model:iris", "version:iris@1.2.0", "alias:iris@champion". */
	target: string;
	/** "ok", or the error type of a refused attempt (ALREADY_EXISTS, FORBIDDEN, …). */
	outcome: string;
	detail?: Record<string, unknown> | null;
}

export interface AuditRecord extends AuditEntry {
	id: number;
	at: string;
}

/** Writes an audit row with `db` — pass the transaction so it commits or rolls back with the change. */
export async function writeAudit(db: Db, entry: AuditEntry): Promise<void> {
	await db.insert(auditLog).values({ ...entry, detail: entry.detail ?? null });
}

export interface AuditQuery {
	limit: number;
	/** Rows older than this id (the previous page's `nextCursor`). */
	before?: number;
	target?: string;
	action?: string;
}

/** The tenant's audit log, newest first, a page at a time. */
export async function listAudit(
	db: Db,
	tenantId: string,
	query: AuditQuery,
): Promise<{ items: AuditRecord[]; nextCursor: string | null }> {
	const conditions: SQL[] = [eq(auditLog.tenantId, tenantId)];
	if (query.before !== undefined) conditions.push(lt(auditLog.id, query.before));
	if (query.target !== undefined) conditions.push(eq(auditLog.target, query.target));
	if (query.action !== undefined) conditions.push(eq(auditLog.action, query.action));
	const rows = await db
		.select()
		.from(auditLog)
		.where(and(...conditions))
		.orderBy(desc(auditLog.id))
		.limit(query.limit + 1);
	const items = rows.slice(0, query.limit).map(row => ({
		id: row.id,
		tenantId: row.tenantId,
		keyId: row.keyId,
		action: row.action,
		target: row.target,
		outcome: row.outcome,
		detail: (row.detail as Record<string, unknown> | null) ?? null,
		at: row.at.toISOString(),
	}));
	return {
		items,
		nextCursor: rows.length > query.limit ? String(items[items.length - 1].id) : null,
	};
}
