import type { Scope } from "../accounts/access";
import { writeAudit } from "../audit/audit-log";
import type { Db } from "../db/database";

/** Writes the audit row of a successful mutation inside its transaction. */
export function auditOk(
	tx: Db,
	scope: Scope,
	action: string,
	target: string,
	detail?: Record<string, unknown>,
): Promise<void> {
	return writeAudit(tx, {
		tenantId: scope.tenantId,
		keyId: scope.keyId,
		action,
		target,
		outcome: "ok",
		detail: detail ?? null,
	});
}

/** Opaque page cursors: clients pass back what they were given. */
export function encodeCursor(value: string | number): string {
	return Buffer.from(String(value), "utf8").toString("base64url");
}

export function decodeCursor(cursor: string | undefined): string | undefined {
	return cursor === undefined ? undefined : Buffer.from(cursor, "base64url").toString("utf8");
}

export interface Page<T> {
	items: T[];
	/** Pass as `cursor` for the next page; null on the last page. */
	nextCursor: string | null;
}
