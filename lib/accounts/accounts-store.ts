import { randomUUID } from "node:crypto";
import { and, asc, eq, inArray } from "drizzle-orm";
import type { Db } from "../db/database";
import { isUniqueViolation } from "../db/migrate";
import { apiKeys, tenants } from "../db/schema";
import {
	AlreadyExistsError,
	InvalidInputError,
	NotFoundError,
	UnauthenticatedError,
} from "../errors";
import { writeAudit } from "../audit/audit-log";
import type { Scope } from "./access";
import { apiKeyFrom, generateApiKey, hashApiKey, legacyApiKeyHash, visiblePrefix } from "./api-key";
import { installationKeySecret } from "./key-secret";
import type { Role } from "./roles";

export interface TenantView {
	id: string;
	name: string;
	isAdmin: boolean;
	createdAt: string;
}

export interface ApiKeyView {
	id: string;
	tenantId: string;
	name: string;
	prefix: string;
	role: Role;
	createdAt: string;
	expiresAt: string | null;
	revokedAt: string | null;
}

/** A key's view plus the key itself: returned once, at creation. */
export interface CreatedApiKey extends ApiKeyView {
	key: string;
}

/** Who a valid key speaks for. */
export interface Identity {
	tenant: string;
	tenantName: string;
	role: Role;
	keyId: string;
}

export const BOOTSTRAP_TENANT = "default";

type TenantRow = typeof tenants.$inferSelect;
type KeyRow = typeof apiKeys.$inferSelect;

const tenantView = (row: TenantRow): TenantView => ({
	id: row.id,
	name: row.name,
	isAdmin: row.isAdmin,
	createdAt: row.createdAt.toISOString(),
});

const keyView = (row: KeyRow): ApiKeyView => ({
	id: row.id,
	tenantId: row.tenantId,
	name: row.name,
	prefix: row.prefix,
	role: row.role as Role,
	createdAt: row.createdAt.toISOString(),
	expiresAt: row.expiresAt?.toISOString() ?? null,
	revokedAt: row.revokedAt?.toISOString() ?? null,
});

/** Tenants and API keys in the metadata database. */
export class AccountsStore {
	private storedSecret: Promise<string> | null = null;

	/**
	 * `keySecret` (MODELFLEET_KEY_SECRET) is what keys are hashed with; null: the secret
	 * generated once into the metadata database (lib/accounts/key-secret.ts).
	 */
	constructor(
		private readonly db: Db,
		private readonly now: () => Date = () => new Date(),
		private readonly keySecret: string | null = null,
	) {}

	/** The secret API keys are hashed with; read from the database once, then remembered. */
	private secret(): Promise<string> {
		if (this.keySecret !== null) return Promise.resolve(this.keySecret);
		this.storedSecret ??= installationKeySecret(this.db).catch((err: unknown) => {
			this.storedSecret = null;
			throw err;
		});
		return this.storedSecret;
	}

	/**
	 * On an empty database, creates the bootstrap tenant (an admin tenant) and its owner key.
	 * Returns the key when this call created it (so the node prints it once), else null.
	 * Two nodes starting at once: the unique tenant name lets exactly one of them create it.
	 */
	async bootstrap(givenKey: string | null): Promise<{ tenant: TenantView; key: string } | null> {
		const existing = await this.db.select({ id: tenants.id }).from(tenants).limit(1);
		if (existing.length > 0) return null;
		const secret = await this.secret();
		return this.db.transaction(async tx => {
			const [tenant] = await tx
				.insert(tenants)
				.values({ id: randomUUID(), name: BOOTSTRAP_TENANT, isAdmin: true })
				.onConflictDoNothing({ target: tenants.name })
				.returning();
			if (!tenant) return null;
			const key = givenKey ? apiKeyFrom(givenKey, secret) : generateApiKey(secret);
			const id = randomUUID();
			await tx.insert(apiKeys).values({
				id,
				tenantId: tenant.id,
				name: "bootstrap owner",
				prefix: key.prefix,
				hash: key.hash,
				role: "owner",
			});
			await writeAudit(tx, {
				tenantId: tenant.id,
				keyId: null,
				action: "accounts.bootstrap",
				target: `tenant:${tenant.name}`,
				outcome: "ok",
				detail: { keyId: id },
			});
			return { tenant: tenantView(tenant), key: key.key };
		});
	}

	/** A new tenant with its first owner key (the key is in the result, once). */
	async createTenant(
		actor: Scope,
		input: { name: string; isAdmin?: boolean },
	): Promise<{ tenant: TenantView; ownerKey: CreatedApiKey }> {
		const secret = await this.secret();
		try {
			return await this.db.transaction(async tx => {
				const [tenant] = await tx
					.insert(tenants)
					.values({ id: randomUUID(), name: input.name, isAdmin: input.isAdmin ?? false })
					.returning();
				const ownerKey = await this.insertKey(
					tx,
					tenant.id,
					{ name: "owner", role: "owner" },
					secret,
				);
				await writeAudit(tx, {
					tenantId: actor.tenantId,
					keyId: actor.keyId,
					action: "tenants.create",
					target: `tenant:${tenant.name}`,
					outcome: "ok",
					detail: { tenantId: tenant.id },
				});
				return { tenant: tenantView(tenant), ownerKey };
			});
		} catch (err) {
			if (isUniqueViolation(err)) throw new AlreadyExistsError("tenant", input.name);
			throw err;
		}
	}

	async listTenants(): Promise<TenantView[]> {
		return (await this.db.select().from(tenants).orderBy(asc(tenants.name))).map(tenantView);
	}

	async getTenant(id: string): Promise<TenantView> {
		const [row] = await this.db.select().from(tenants).where(eq(tenants.id, id));
		if (!row) throw new NotFoundError("tenant", id);
		return tenantView(row);
	}

	async isAdminTenant(id: string): Promise<boolean> {
		const [row] = await this.db
			.select({ isAdmin: tenants.isAdmin })
			.from(tenants)
			.where(eq(tenants.id, id));
		return row?.isAdmin === true;
	}

	async createKey(
		scope: Scope,
		input: { name: string; role: Role; expiresAt?: string | null },
	): Promise<CreatedApiKey> {
		const expiresAt = input.expiresAt ? new Date(input.expiresAt) : null;
		if (expiresAt && (Number.isNaN(expiresAt.getTime()) || expiresAt <= this.now())) {
			throw new InvalidInputError(
				`expiresAt '${input.expiresAt}' must be an ISO 8601 time in the future.`,
				{
					field: "expiresAt",
				},
			);
		}
		const secret = await this.secret();
		return this.db.transaction(async tx => {
			const created = await this.insertKey(
				tx,
				scope.tenantId,
				{ ...input, expiresAt },
				secret,
			);
			await writeAudit(tx, {
				tenantId: scope.tenantId,
				keyId: scope.keyId,
				action: "keys.create",
				target: `key:${created.id}`,
				outcome: "ok",
				detail: { name: created.name, role: created.role, prefix: created.prefix },
			});
			return created;
		});
	}

	async listKeys(scope: Scope): Promise<ApiKeyView[]> {
		const rows = await this.db
			.select()
			.from(apiKeys)
			.where(eq(apiKeys.tenantId, scope.tenantId))
			.orderBy(asc(apiKeys.createdAt), asc(apiKeys.id));
		return rows.map(keyView);
	}

	/** Revokes one of the tenant's keys; another tenant's key answers 404. */
	async revokeKey(scope: Scope, id: string): Promise<ApiKeyView> {
		return this.db.transaction(async tx => {
			const [row] = await tx
				.update(apiKeys)
				.set({ revokedAt: this.now() })
				.where(and(eq(apiKeys.id, id), eq(apiKeys.tenantId, scope.tenantId)))
				.returning();
			if (!row) throw new NotFoundError("key", id);
			await writeAudit(tx, {
				tenantId: scope.tenantId,
				keyId: scope.keyId,
				action: "keys.revoke",
				target: `key:${id}`,
				outcome: "ok",
			});
			return keyView(row);
		});
	}

	/**
	 * The identity a key speaks for; 401 for an unknown, revoked or expired key. A key stored the
	 * old way (plain sha256, before 0005) is found by that hash too and rewritten keyed, with a
	 * short prefix, on this first use.
	 */
	async authenticate(key: string): Promise<Identity> {
		const secret = await this.secret();
		const hash = hashApiKey(key, secret);
		const legacyHash = legacyApiKeyHash(key);
		const [row] = await this.db
			.select({ key: apiKeys, tenantName: tenants.name })
			.from(apiKeys)
			.innerJoin(tenants, eq(tenants.id, apiKeys.tenantId))
			.where(inArray(apiKeys.hash, [hash, legacyHash]));
		if (!row) throw new UnauthenticatedError("Unknown API key.");
		if (row.key.hash === legacyHash) {
			// Only this row, and only while it still holds the old hash: racing requests rewrite it once.
			await this.db
				.update(apiKeys)
				.set({ hash, prefix: visiblePrefix(key) })
				.where(and(eq(apiKeys.id, row.key.id), eq(apiKeys.hash, legacyHash)));
		}
		if (row.key.revokedAt) throw new UnauthenticatedError("This API key was revoked.");
		if (row.key.expiresAt && row.key.expiresAt <= this.now()) {
			throw new UnauthenticatedError("This API key has expired; ask an owner for a new one.");
		}
		return {
			tenant: row.key.tenantId,
			tenantName: row.tenantName,
			role: row.key.role as Role,
			keyId: row.key.id,
		};
	}

	private async insertKey(
		tx: Db,
		tenantId: string,
		input: { name: string; role: Role; expiresAt?: Date | null },
		secret: string,
	): Promise<CreatedApiKey> {
		const key = generateApiKey(secret);
		const [row] = await tx
			.insert(apiKeys)
			.values({
				id: randomUUID(),
				tenantId,
				name: input.name,
				prefix: key.prefix,
				hash: key.hash,
				role: input.role,
				expiresAt: input.expiresAt ?? null,
			})
			.returning();
		return { ...keyView(row), key: key.key };
	}
}
