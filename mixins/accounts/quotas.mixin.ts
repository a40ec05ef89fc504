/**
 * The accounts service's quotas part: an admin tenant's owner sets a tenant's quotas
 * (`quotas.set`), the tenant reads its own (`quotas.get`), and the services that enforce them
 * read any tenant's (`quotas.ofTenant`, fleet-internal).
 */
import type { ServiceSchema } from "moleculer";
import { fleetInternal, requires, scopeOf } from "../../lib/accounts/access";
import type { AccountsStore } from "../../lib/accounts/accounts-store";
import { NotFoundError } from "../../lib/errors";
import { normalizeQuotas, QUOTAS_RULE, type Quotas } from "../../lib/quotas/quota-spec";
import type { QuotaStore } from "../../lib/quotas/quota-store";
import type { TenantAccessMethods } from "../tenant-access.mixin";
import type { Ctx } from "../params";

export interface QuotasOptions {
	quotas: QuotaStore;
	accounts: AccountsStore;
}

type QuotaParams = { id: string } & Record<string, unknown>;

export function quotasMixin(options: QuotasOptions): Partial<ServiceSchema> {
	return {
		actions: {
			/** Tenant `id`'s quotas: its own for any role; any tenant's for an admin tenant. */
			"quotas.get": requires("tenant.read", {
				params: { id: { type: "uuid" } },
				async handler(ctx: Ctx<{ id: string }>) {
					const scope = scopeOf(ctx);
					if (ctx.params.id !== scope.tenantId) {
						// Another tenant's quotas are not there for a non-admin (404, as for any object).
						const access = this as unknown as TenantAccessMethods;
						if (!(await access.callerIsAdmin(ctx)))
							throw new NotFoundError("tenant", ctx.params.id);
					}
					await options.accounts.getTenant(ctx.params.id);
					return options.quotas.get(ctx.params.id);
				},
			}),

			/**
			 * Replaces tenant `id`'s quotas with the body (names left out or null: unlimited).
			 * Owners of an admin tenant only.
			 */
			"quotas.set": requires("keys.manage", {
				params: { id: { type: "uuid" }, ...QUOTAS_RULE.props },
				async handler(ctx: Ctx<QuotaParams>) {
					const scope = scopeOf(ctx);
					await (this as unknown as TenantAccessMethods).requireAdminTenant(
						ctx,
						"set tenants' quotas",
					);
					const { id, ...document } = ctx.params;
					const quotas = normalizeQuotas(document);
					await options.accounts.getTenant(id);
					return options.quotas.set(id, quotas, scope.keyId);
				},
			}),

			/** A tenant's quotas, for the services that enforce them. */
			"quotas.ofTenant": fleetInternal({
				params: { tenant: { type: "string", max: 64 } },
				async handler(ctx: Ctx<{ tenant: string }>): Promise<Quotas> {
					if (!/^[0-9a-f-]{36}$/i.test(ctx.params.tenant)) return {};
					return (await options.quotas.get(ctx.params.tenant)).quotas;
				},
			}),
		},
	};
}
