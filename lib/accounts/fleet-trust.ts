/**
 * A node's hold on the fleet secret (MODELFLEET_FLEET_SECRET): it signs the identities this node
 * vouches for and verifies the ones calls bring (lib/accounts/signed-identity.ts). Only fleet
 * nodes have one; the REPL and any other broker on the bus do not.
 */
import type { Role } from "./roles";
import {
	CLOCK_SKEW_MS,
	signIdentity,
	verifyIdentity,
	type VerifiedIdentity,
} from "./signed-identity";
import { MIN_FLEET_SECRET_LENGTH } from "../settings/fleet-secret";

export { MIN_FLEET_SECRET_LENGTH };

export interface FleetTrustOptions {
	/** How long a signed identity is accepted, ms. Default 5 minutes. */
	ttlMs: number;
	/** The clock, ms since the epoch. Default Date.now. */
	now: () => number;
}

export const DEFAULT_FLEET_TRUST_OPTIONS: Readonly<FleetTrustOptions> = Object.freeze({
	ttlMs: 5 * 60_000,
	now: () => Date.now(),
});

/** The shortest fleet secret accepted (MODELFLEET_FLEET_SECRET). */

/** A tenant's identity as a node vouches for it: an API key's, or a service's acting for a tenant. */
export interface TenantIdentity {
	tenant: string;
	role: Role;
	keyId: string | null;
}

/** The ctx.meta of a call made for a tenant, its identity signed. */
export interface SignedMeta extends TenantIdentity {
	identity: string;
}

/**
 * Most tokens `sign` and `verify` remember. Both run for every request (the gateway signs, each
 * callee verifies), and an HMAC costs several µs; a full memory is simply cleared.
 */
const MEMORY_ENTRIES = 10_000;

export class FleetTrust {
	private readonly options: Readonly<FleetTrustOptions>;
	private own: { nodeID: string; token: string; renewAt: number } | null = null;
	/** Tokens `sign` made, per identity, reused until half their life is gone. */
	private readonly signed = new Map<string, { token: string; renewAt: number }>();
	/**
	 * Tokens that verified, with their claims: the same token verifies the same way until it
	 * expires (the secret never changes in a running node), and `verify` checks that each time.
	 */
	private readonly verified = new Map<string, VerifiedIdentity & { ok: true }>();

	constructor(
		private readonly secret: string,
		options: Partial<FleetTrustOptions> = {},
	) {
		if (secret.length < MIN_FLEET_SECRET_LENGTH) {
			throw new RangeError(
				`A fleet secret has at least ${MIN_FLEET_SECRET_LENGTH} characters.`,
			);
		}
		this.options = Object.freeze({ ...DEFAULT_FLEET_TRUST_OPTIONS, ...options });
	}

	/**
	 * A token for a tenant's identity this node vouches for (a key it authenticated); the same
	 * token for the same identity until half its life is gone, so callees verify it once.
	 */
	sign(identity: TenantIdentity, service?: string): string {
		const key = `${identity.tenant}\u0000${identity.role}\u0000${identity.keyId ?? ""}\u0000${service ?? ""}`;
		const now = this.options.now();
		const known = this.signed.get(key);
		if (known !== undefined && now < known.renewAt) return known.token;
		const { token } = this.issue(identity, service);
		if (this.signed.size >= MEMORY_ENTRIES) this.signed.clear();
		this.signed.set(key, { token, renewAt: now + this.options.ttlMs / 2 });
		return token;
	}

	/** As `sign`, with when the token expires (ms since the epoch), for a caller that renews it. */
	issue(identity: TenantIdentity, service?: string): { token: string; expiresAt: number } {
		const expiresAt = this.options.now() + this.options.ttlMs;
		const token = signIdentity(
			{
				tenant: identity.tenant,
				role: identity.role,
				keyId: identity.keyId,
				...(service !== undefined ? { service } : {}),
				exp: expiresAt,
			},
			this.secret,
		);
		return { token, expiresAt };
	}

	/** The meta of a call a service makes for a tenant (the scheduler loading its model). */
	actAs(tenant: string, role: Role, service: string): SignedMeta {
		const identity = { tenant, role, keyId: null };
		return { ...identity, identity: this.sign(identity, service) };
	}

	/** This node's own identity, for fleet-internal calls; renewed once half its life is gone. */
	serviceToken(nodeID: string): string {
		const now = this.options.now();
		if (this.own === null || this.own.nodeID !== nodeID || now >= this.own.renewAt) {
			const exp = now + this.options.ttlMs;
			this.own = {
				nodeID,
				token: signIdentity({ service: nodeID, exp }, this.secret),
				renewAt: now + this.options.ttlMs / 2,
			};
		}
		return this.own.token;
	}

	/** Checks a token (lib/accounts/signed-identity.ts); one that verified before is not hashed again. */
	verify(token: unknown): VerifiedIdentity {
		const now = this.options.now();
		if (typeof token === "string") {
			const known = this.verified.get(token);
			if (known !== undefined) {
				if (known.claims.exp + CLOCK_SKEW_MS > now) return known;
				this.verified.delete(token);
			}
		}
		const result = verifyIdentity(token, this.secret, now);
		if (result.ok && typeof token === "string") {
			if (this.verified.size >= MEMORY_ENTRIES) this.verified.clear();
			// Shared by every call that brings this token: nobody may change it.
			Object.freeze(result.claims);
			this.verified.set(token, result);
		}
		return result;
	}
}
