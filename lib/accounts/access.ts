import type { ActionSchema, Context, Middleware } from "moleculer";
import { ForbiddenError, UnauthenticatedError } from "../errors";
import { can, isRole, rolesWith, type Permission, type Role } from "./roles";

/**
 * Who is asking: set in ctx.meta by the gateway from an API key (or by the operator REPL,
 * which names the tenant), and carried along every nested call.
 */
export interface RequestMeta {
	tenant?: string;
	role?: Role;
	keyId?: string | null;
}

/** The tenant and key a tenant-scoped action acts for. */
export interface Scope {
	tenantId: string;
	role: Role;
	keyId: string | null;
}

interface GuardedAction {
	permission?: Permission;
	name?: string;
}

/** Marks an action as needing a permission; the access middleware enforces it. */
export function requires<T extends ActionSchema>(permission: Permission, action: T): T {
	return Object.assign(action, { permission });
}

/** The caller's scope; only valid inside actions marked with `requires`. */
export function scopeOf(ctx: Context<unknown, RequestMeta>): Scope {
	const { tenant, role, keyId } = ctx.meta;
	if (typeof tenant !== "string" || !isRole(role)) throw new UnauthenticatedError();
	return { tenantId: tenant, role, keyId: keyId ?? null };
}

/**
 * Tenancy and roles as one middleware, so no action checks them by hand: an action marked with
 * `requires` runs only for a caller with a tenant (401 otherwise) whose role has the permission
 * (403 otherwise).
 */
export function accessMiddleware(): Middleware {
	return {
		name: "Access",
		localAction(next: (ctx: Context) => Promise<unknown>, action: GuardedAction) {
			const permission = action.permission;
			if (permission === undefined) return next;
			// async: a refusal must reach the caller as a rejected promise, never a synchronous throw.
			return async (ctx: Context<unknown, RequestMeta>) => {
				const { role } = scopeOf(ctx);
				if (!can(role, permission)) {
					throw new ForbiddenError(
						role,
						`call ${action.name ?? "this action"}`,
						rolesWith(permission),
					);
				}
				return next(ctx);
			};
		},
	} as Middleware;
}
