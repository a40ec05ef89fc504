/**
 * accounts — tenants, API keys and roles. `authenticate` turns a key into the identity the
 * gateway puts in ctx.meta; everything else is scoped to the caller's tenant. Each tenant's
 * usage and quotas are kept here too (mixins/accounts/).
 */
import type { Context, ServiceSchema } from "moleculer";
import { allowAnonymous, requires, scopeOf, type RequestMeta } from "../lib/accounts/access";
import { AccountsStore, type Identity } from "../lib/accounts/accounts-store";
import type { FleetTrust } from "../lib/accounts/fleet-trust";
import { permissionsOf, ROLES, type Role } from "../lib/accounts/roles";
import type { Database } from "../lib/db/database";
import { SERVICE } from "../lib/fleet/node-role";
import { UsageStore } from "../lib/metering/usage-store";
import { QuotaStore } from "../lib/quotas/quota-store";
import { quotasMixin } from "../mixins/accounts/quotas.mixin";
import { usageMixin } from "../mixins/accounts/usage.mixin";
import { tenantAccessMixin, type TenantAccessMethods } from "../mixins/tenant-access.mixin";

export interface AccountsServiceOptions {
	database: Database;
	/** MODELFLEET_BOOTSTRAP_KEY: the bootstrap owner key, instead of a random one. */
	bootstrapKey: string | null;
	/** MODELFLEET_KEY_SECRET: what API keys are hashed with; null: the one generated into the database. */
	keySecret?: string | null;
	/** Where the bootstrap key is shown, once. */
	print: (line: string) => void;
	/** Signs the identity of an authenticated key, for callers on the bus (the REPL). */
	trust: FleetTrust;
	/** MODELFLEET_USAGE_STORAGE_INTERVAL_S in ms: how often stored bytes are measured; 0 never. Default 0. */
	usageStorageIntervalMs?: number;
}

/** An authenticated key's identity, and a token of it signed by this node (see RequestMeta). */
export interface SignedIdentity extends Identity {
	token: string;
	/** When the token stops being accepted, ms since the epoch: authenticate again before. */
	tokenExpiresAt: number;
}

const NAME_RULE = { type: "string", pattern: /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/ } as const;

export function accountsService(options: AccountsServiceOptions): ServiceSchema {
	// Long because it is a service schema (a declaration, not a procedure): authenticate and the
	// tenants.* and keys.* actions, each a few lines over the one accounts store.
	const store = new AccountsStore(
		options.database.db,
		() => new Date(),
		options.keySecret ?? null,
	);

	return {
		name: SERVICE.accounts,
		mixins: [
			// Accounts knows which tenants are admin ones: its own store answers.
			tenantAccessMixin({ isAdminTenant: tenantId => store.isAdminTenant(tenantId) }),
			// Usage (metering) and quotas are kept per tenant, next to the tenants.
			usageMixin({
				store: new UsageStore(options.database.db),
				storageIntervalMs: options.usageStorageIntervalMs ?? 0,
			}),
			quotasMixin({ quotas: new QuotaStore(options.database.db), accounts: store }),
		],

		actions: {
			/**
			 * A key → {tenant, tenantName, role, keyId} and that identity signed (`token`, to send
			 * as ctx.meta.identity); 401 for an unknown, revoked or expired key. Anyone may ask.
			 */
			authenticate: allowAnonymous({
				params: { key: { type: "string", min: 1, max: 512 } },
				async handler(ctx: Context<{ key: string }>): Promise<SignedIdentity> {
					const identity = await store.authenticate(ctx.params.key);
					const { token, expiresAt } = options.trust.issue(identity);
					return { ...identity, token, tokenExpiresAt: expiresAt };
				},
			}),

			/**
			 * A signed identity as owner of tenant `id`, for an admin tenant's owner acting for it
			 * (the REPL's `--tenant`).
			 */
			"tenants.actFor": requires("keys.manage", {
				params: { id: { type: "uuid" } },
				async handler(ctx: Context<{ id: string }, RequestMeta>) {
					const scope = scopeOf(ctx);
					await (this as unknown as TenantAccessMethods).requireAdminTenant(
						ctx,
						"act for another tenant",
					);
					const tenant = await store.getTenant(ctx.params.id);
					const { token, expiresAt } = options.trust.issue({
						tenant: tenant.id,
						role: "owner",
						keyId: scope.keyId,
					});
					return { token, tokenExpiresAt: expiresAt };
				},
			}),

			"tenants.create": requires("keys.manage", {
				params: { name: NAME_RULE, isAdmin: { type: "boolean", optional: true } },
				async handler(ctx: Context<{ name: string; isAdmin?: boolean }, RequestMeta>) {
					const scope = scopeOf(ctx);
					await (this as unknown as TenantAccessMethods).requireAdminTenant(
						ctx,
						"create tenants",
					);
					return store.createTenant(scope, ctx.params);
				},
			}),

			"tenants.list": requires("keys.manage", {
				async handler(ctx: Context<unknown, RequestMeta>) {
					await (this as unknown as TenantAccessMethods).requireAdminTenant(
						ctx,
						"list tenants",
					);
					return store.listTenants();
				},
			}),

			/** The caller's own tenant. */
			"tenants.get": requires("tenant.read", {
				handler(ctx: Context<unknown, RequestMeta>) {
					return store.getTenant(scopeOf(ctx).tenantId);
				},
			}),

			/** The caller's key: its tenant, role and what it may do (for the web console). */
			whoami: requires("tenant.read", {
				async handler(ctx: Context<unknown, RequestMeta>) {
					const scope = scopeOf(ctx);
					return {
						tenant: await store.getTenant(scope.tenantId),
						role: scope.role,
						keyId: scope.keyId,
						permissions: permissionsOf(scope.role),
					};
				},
			}),

			"keys.create": requires("keys.manage", {
				params: {
					name: { type: "string", min: 1, max: 128 },
					role: { type: "enum", values: [...ROLES] },
					expiresAt: { type: "string", optional: true },
				},
				handler(
					ctx: Context<{ name: string; role: Role; expiresAt?: string }, RequestMeta>,
				) {
					return store.createKey(scopeOf(ctx), ctx.params);
				},
			}),

			"keys.list": requires("keys.manage", {
				handler(ctx: Context<unknown, RequestMeta>) {
					return store.listKeys(scopeOf(ctx));
				},
			}),

			"keys.revoke": requires("keys.manage", {
				params: { id: { type: "uuid" } },
				handler(ctx: Context<{ id: string }, RequestMeta>) {
					return store.revokeKey(scopeOf(ctx), ctx.params.id);
				},
			}),
		},

		async started() {
			const created = await store.bootstrap(options.bootstrapKey);
			if (created === null) return;
			if (options.bootstrapKey) {
				options.print(
					`Bootstrap tenant '${created.tenant.name}' created; its owner key is MODELFLEET_BOOTSTRAP_KEY.`,
				);
			} else {
				options.print(
					`Bootstrap tenant '${created.tenant.name}' created. Its owner API key, shown only this once:`,
				);
				options.print(`  ${created.key}`);
			}
		},
	};
}
