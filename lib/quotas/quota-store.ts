/** The tenants' quotas (table tenant_quotas), owned by the accounts service. */
import { eq } from "drizzle-orm";
import { writeAudit } from "../audit/audit-log";
import type { Db } from "../db/database";
import { tenantQuotas } from "../db/schema";
import { normalizeQuotas, type Quotas } from "./quota-spec";

export interface TenantQuotas {
	tenant: string;
	quotas: Quotas;
	/** When an admin last set them; null: never (unlimited). */
	updatedAt: string | null;
}

export class QuotaStore {
	constructor(private readonly db: Db) {}

	async get(tenant: string): Promise<TenantQuotas> {
		const [row] = await this.db
			.select()
			.from(tenantQuotas)
			.where(eq(tenantQuotas.tenantId, tenant));
		if (row === undefined) return { tenant, quotas: {}, updatedAt: null };
		return {
			tenant,
			quotas: normalizeQuotas(row.quotas as Record<string, unknown>),
			updatedAt: row.updatedAt.toISOString(),
		};
	}

	/**
	 * Replaces the tenant's quotas (names left out become unlimited), with an audit row in that
	 * tenant's log naming the admin key that set them.
	 */
	async set(tenant: string, quotas: Quotas, byKey: string | null): Promise<TenantQuotas> {
		const updatedAt = new Date();
		await this.db.transaction(async tx => {
			await tx
				.insert(tenantQuotas)
				.values({ tenantId: tenant, quotas, updatedAt })
				.onConflictDoUpdate({ target: tenantQuotas.tenantId, set: { quotas, updatedAt } });
			await writeAudit(tx, {
				tenantId: tenant,
				keyId: byKey,
				action: "accounts.quotas.set",
				target: `tenant:${tenant}`,
				outcome: "ok",
				detail: { quotas },
			});
		});
		return { tenant, quotas, updatedAt: updatedAt.toISOString() };
	}
}
