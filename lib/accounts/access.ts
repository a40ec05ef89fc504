import type { ActionSchema, CallingOptions, Context, Middleware, ServiceBroker } from "moleculer";
import { ForbiddenError, UnauthenticatedError } from "../errors";
import type { FleetTrust } from "./fleet-trust";
import { can, rolesWith, type Permission, type Role } from "./roles";
import type { IdentityClaims, IdentityRefusal } from "./signed-identity";

/**
 * Who is asking: `identity` is the signed caller identity (lib/accounts/signed-identity.ts) a
 * fleet node vouches for — the gateway from an API key, accounts for the REPL, a service for
 * itself or for a tenant — and travels along every nested call. `tenant`, `role` and `keyId`
 * are what it says, written by the access middleware once verified; unsigned, they count for
 * nothing.
 */
export interface RequestMeta {
	tenant?: string;
	role?: Role;
	keyId?: string | null;
	identity?: string;
}

/** The tenant and key a tenant-scoped action acts for. */
export interface Scope {
	tenantId: string;
	role: Role;
	keyId: string | null;
}

interface GuardedAction {
	permission?: Permission;
	anonymous?: boolean;
	fleetInternal?: boolean;
	visibility?: string;
	name?: string;
}

/** Why a call was refused: a token's own refusal, or a service identity calling a tenant's action. */
export type AccessRefusal = IdentityRefusal | "no-tenant";

/** Where the verified claims of a call are kept, on its ctx.locals (never sent anywhere). */
const VERIFIED = "verifiedIdentity";

/** Marks an action as needing a permission; the access middleware enforces it. */
export function requires<T extends ActionSchema>(permission: Permission, action: T): T {
	return Object.assign(action, { permission });
}

/**
 * Marks an action any caller may call without a signed identity: key authentication itself
 * and the health and metadata routes the gateway serves without a key.
 */
export function allowAnonymous<T extends ActionSchema>(action: T): T {
	return Object.assign(action, { anonymous: true });
}

/**
 * Marks an action only fleet nodes may call, under their own service identity (a signed
 * identity with a `service` claim): garbage collection, a trainer's run and cancel, the lists of
 * referenced blobs. A key holder's identity — even an owner's, even from the REPL — is refused 403.
 */
export function fleetInternal<T extends ActionSchema>(action: T): T {
	return Object.assign(action, { fleetInternal: true });
}

/** The caller's scope; only valid inside actions marked with `requires`. */
export function scopeOf(ctx: Context<unknown, RequestMeta>): Scope {
	const claims = (ctx.locals as Record<string, IdentityClaims | undefined> | undefined)?.[
		VERIFIED
	];
	if (claims?.tenant === undefined || claims.role === undefined) {
		throw refusal("no-tenant");
	}
	return { tenantId: claims.tenant, role: claims.role, keyId: claims.keyId ?? null };
}

const REFUSALS: Record<AccessRefusal, string> = {
	missing:
		"This call carries no signed caller identity: call through the gateway with an API key, or from the REPL after 'fleet login <api-key>'.",
	malformed: "The caller identity of this call is not one this fleet signs.",
	"bad-signature": "The caller identity of this call is not signed by this fleet.",
	expired: "The caller identity of this call has expired: authenticate again.",
	"no-tenant": "This action acts for a tenant, and the call's signed identity names none.",
};

function refusal(reason: AccessRefusal): UnauthenticatedError {
	return new UnauthenticatedError(REFUSALS[reason], { reason });
}

/**
 * Calls any caller may make: Moleculer's own services (`$node.*`), private actions (only their
 * own service reaches them, e.g. moleculer-web's `rest`) and those marked `allowAnonymous`.
 */
function isAnonymous(action: GuardedAction): boolean {
	return (
		action.anonymous === true ||
		action.visibility === "private" ||
		(action.name ?? "").startsWith("$")
	);
}

/** The identity a call will carry: its own meta's, else the one it inherits from its parent. */
function outgoingIdentity(opts: CallingOptions | undefined): unknown {
	const own = opts?.meta as RequestMeta | undefined;
	if (own !== undefined && own !== null && "identity" in own) return own.identity;
	return (opts?.parentCtx?.meta as RequestMeta | undefined)?.identity;
}

type CallFn = (action: string, params?: unknown, opts?: CallingOptions) => Promise<unknown>;

/**
 * Trust, tenancy and roles as one middleware, so no action checks them by hand; on every fleet
 * node.
 *
 * Callee side: every action but the anonymous ones runs only for a call whose signed identity
 * verifies with the fleet secret (401 and a warning naming the action and the caller's node
 * otherwise — never the token); its claims replace whatever tenant, role and key the meta says.
 * An action marked with `requires` also needs a tenant in the identity (401) whose role has the
 * permission (403).
 *
 * Caller side: a call that carries no identity at all is the node's own (the scheduler asking a
 * predictor to load, a predictor fetching a blob) and goes out with this node's service identity.
 */
export function accessMiddleware(trust: FleetTrust): Middleware {
	let broker: ServiceBroker;
	return {
		name: "Access",
		created(b: ServiceBroker) {
			broker = b;
		},
		call(next: CallFn): CallFn {
			return (action, params, opts) => {
				const identity = outgoingIdentity(opts);
				if (typeof identity === "string" && identity.length > 0) {
					return next(action, params, opts);
				}
				const meta = { ...opts?.meta, identity: trust.serviceToken(broker.nodeID) };
				return next(action, params, { ...opts, meta });
			};
		},
		localAction(next: (ctx: Context) => Promise<unknown>, action: GuardedAction) {
			if (isAnonymous(action)) return next;
			const permission = action.permission;
			const name = action.name ?? "this action";
			// async: a refusal must reach the caller as a rejected promise, never a synchronous throw.
			return async (ctx: Context<unknown, RequestMeta>) => {
				const refuse = (reason: AccessRefusal): never => {
					broker.logger.warn(
						`Refused ${name} called from node ${ctx.nodeID ?? broker.nodeID}: ${reason} caller identity (UNAUTHENTICATED).`,
					);
					throw refusal(reason);
				};
				const meta = ctx.meta ?? (ctx.meta = {});
				const verified = trust.verify(meta.identity);
				if (!verified.ok) return refuse(verified.reason);
				const claims = verified.claims;
				(ctx.locals as Record<string, IdentityClaims>)[VERIFIED] = claims;
				const { tenant, role } = claims;
				if (tenant !== undefined && role !== undefined) {
					meta.tenant = tenant;
					meta.role = role;
					meta.keyId = claims.keyId ?? null;
				} else {
					delete meta.tenant;
					delete meta.role;
					delete meta.keyId;
				}
				if (action.fleetInternal === true && claims.service === undefined) {
					broker.logger.warn(
						`Refused ${name} called from node ${ctx.nodeID ?? broker.nodeID}: a key holder's identity on a fleet-internal action (FORBIDDEN).`,
					);
					throw new ForbiddenError(role ?? "none", `call ${name}`, ["a fleet node"]);
				}
				if (permission === undefined) return next(ctx);
				if (role === undefined) return refuse("no-tenant");
				if (!can(role, permission)) {
					throw new ForbiddenError(role, `call ${name}`, rolesWith(permission));
				}
				return next(ctx);
			};
		},
	} as unknown as Middleware;
}
