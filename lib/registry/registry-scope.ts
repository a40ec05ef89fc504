import { isUtf8 } from "node:buffer";
import type { Scope } from "../accounts/access";
import { writeAudit } from "../audit/audit-log";
import type { Db } from "../db/database";
import { InvalidCursorError } from "../errors";

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

/**
 * Opaque page cursors: clients pass back what they were given. A cursor is the base64url of
 * where the previous page ended (a name, a sequence number); one a list did not hand out (not
 * canonical base64url, not UTF-8, not the shape of what that list pages by) is a 400
 * INVALID_CURSOR before any query is made.
 */
export function encodeCursor(value: string | number): string {
	return Buffer.from(String(value), "utf8").toString("base64url");
}

/** The text a cursor encodes; 400 unless it is canonical base64url of UTF-8 without NUL. */
function cursorText(cursor: string): string {
	if (!/^[A-Za-z0-9_-]{1,512}$/.test(cursor)) throw new InvalidCursorError();
	const bytes = Buffer.from(cursor, "base64url");
	if (bytes.toString("base64url") !== cursor || !isUtf8(bytes)) throw new InvalidCursorError();
	return bytes.toString("utf8");
}

/** A cursor of a list paged by name (models, deployments): the name, which must match `pattern`. */
export function decodeNameCursor(cursor: string | undefined, pattern: RegExp): string | undefined {
	if (cursor === undefined) return undefined;
	const name = cursorText(cursor);
	if (!pattern.test(name)) throw new InvalidCursorError();
	return name;
}

/** A cursor of a list paged by a sequence number (versions, training jobs). */
export function decodeSeqCursor(cursor: string | undefined): number | undefined {
	if (cursor === undefined) return undefined;
	return sequenceNumber(cursorText(cursor));
}

/** A whole number ≥ 0 a bigint column holds and a double keeps exactly; 400 otherwise. */
export function sequenceNumber(text: string): number {
	if (!/^\d{1,15}$/.test(text)) throw new InvalidCursorError();
	return Number(text);
}

/** A cursor of a list paged by name, then a number (datasets: name and version). */
export function decodeNamedSeqCursor(
	cursor: string | undefined,
	pattern: RegExp,
): { name: string; seq: number } | undefined {
	if (cursor === undefined) return undefined;
	const parts = cursorText(cursor).split("\u0000");
	if (parts.length !== 2 || !pattern.test(parts[0])) throw new InvalidCursorError();
	return { name: parts[0], seq: sequenceNumber(parts[1]) };
}

export interface Page<T> {
	items: T[];
	/** Pass as `cursor` for the next page; null on the last page. */
	nextCursor: string | null;
}
