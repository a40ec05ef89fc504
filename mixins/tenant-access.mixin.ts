/**
 * Tenant access beyond a role (lib/accounts/access.ts checks the role): actions only an owner
 * of an admin tenant may call. Whether the caller's tenant is an admin one is the accounts
 * service's to say: by default it is asked (`accounts.tenants.get`); accounts itself hands in
 * its store.
 */
import type { Context, ServiceSchema } from "moleculer";
import { scopeOf, type RequestMeta } from "../lib/accounts/access";
import type { TenantView } from "../lib/accounts/accounts-store";
import { ForbiddenError } from "../lib/errors";
import { SERVICE } from "../lib/fleet/node-role";

export interface TenantAccessOptions {
	/** Whether tenant `tenantId` is an admin one; default: ask the accounts service for the caller's. */
	isAdminTenant?: (tenantId: string, ctx: Context) => Promise<boolean>;
}

export interface TenantAccessMethods {
	/** Whether the caller of `ctx` (an action marked with `requires`) is of an admin tenant. */
	callerIsAdmin(ctx: Context<unknown, RequestMeta>): Promise<boolean>;
	/** Throws ForbiddenError (403) unless the caller is of an admin tenant; `what` names the act. */
	requireAdminTenant(ctx: Context<unknown, RequestMeta>, what: string): Promise<void>;
}

export function tenantAccessMixin(options: TenantAccessOptions = {}): Partial<ServiceSchema> {
	const isAdminTenant =
		options.isAdminTenant ??
		(async (_tenantId: string, ctx: Context) =>
			(await ctx.call<TenantView>(`${SERVICE.accounts}.tenants.get`)).isAdmin);
	const methods: TenantAccessMethods & ThisType<TenantAccessMethods> = {
		callerIsAdmin(ctx) {
			return isAdminTenant(scopeOf(ctx).tenantId, ctx);
		},
		async requireAdminTenant(ctx, what) {
			const scope = scopeOf(ctx);
			if (!(await isAdminTenant(scope.tenantId, ctx))) {
				throw new ForbiddenError(scope.role, what, ["owner of an admin tenant"]);
			}
		},
	};
	return { methods } as unknown as Partial<ServiceSchema>;
}
