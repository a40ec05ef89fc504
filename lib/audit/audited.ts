import { Errors } from "moleculer";
import type { Db } from "../db/database";
import { writeAudit, type AuditEntry } from "./audit-log";

/**
 * Runs a mutation; when a client mistake refuses it (409, 404, 400 …) the attempt is audited
 * too, with the error type as its outcome. Successful mutations audit themselves inside their
 * own transaction.
 */
export async function audited<T>(
	db: Db,
	scope: Pick<AuditEntry, "tenantId" | "keyId">,
	action: string,
	target: string,
	run: () => Promise<T>,
): Promise<T> {
	try {
		return await run();
	} catch (err) {
		if (err instanceof Errors.MoleculerClientError) {
			await writeAudit(db, {
				tenantId: scope.tenantId,
				keyId: scope.keyId,
				action,
				target,
				outcome: err.type,
				detail: { message: err.message },
			}).catch(() => undefined); // the refusal matters more than its audit row
		}
		throw err;
	}
}
