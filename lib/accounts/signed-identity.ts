/**
 * The caller identity a callee verifies (issue 14, "identity the callee verifies"): a compact
 * token `base64url(JSON claims).base64url(HMAC-SHA-256)` signed with the fleet secret by the
 * node that authenticated the caller (the gateway from an API key, accounts for the REPL, a
 * service acting for a tenant or for itself). Anyone on the bus can read it; only a holder of
 * the secret can make one, and any change to a claim breaks the signature.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { isRole, type Role } from "./roles";

/** What a token says. A user identity has tenant and role; a service identity names its node. */
export interface IdentityClaims {
	tenant?: string;
	role?: Role;
	keyId?: string | null;
	/** The node ID of a service acting for itself (or for a tenant, with tenant and role). */
	service?: string;
	/** When the token stops being accepted, ms since the epoch. */
	exp: number;
}

/** Why a token was refused; stable words for logs and tests. */
export type IdentityRefusal = "missing" | "malformed" | "bad-signature" | "expired";

export type VerifiedIdentity =
	{ ok: true; claims: IdentityClaims } | { ok: false; reason: IdentityRefusal };

/** Clock difference between nodes that an expiry tolerates, ms. */
export const CLOCK_SKEW_MS = 30_000;

/** Longest token accepted, so a huge meta value is refused before any hashing. */
const MAX_TOKEN_LENGTH = 2048;

function mac(payload: string, secret: string): Buffer {
	return createHmac("sha256", secret).update(payload, "utf8").digest();
}

/** The token of `claims`, signed with `secret`. */
export function signIdentity(claims: IdentityClaims, secret: string): string {
	const payload = Buffer.from(JSON.stringify(claims), "utf8").toString("base64url");
	return `${payload}.${mac(payload, secret).toString("base64url")}`;
}

/** The claims when they have the shape signIdentity writes; null otherwise. */
function readClaims(value: unknown): IdentityClaims | null {
	if (value === null || typeof value !== "object" || Array.isArray(value)) return null;
	const c = value as Record<string, unknown>;
	if (typeof c.exp !== "number" || !Number.isFinite(c.exp)) return null;
	if (c.tenant !== undefined && typeof c.tenant !== "string") return null;
	if (c.role !== undefined && !isRole(c.role)) return null;
	if (c.keyId !== undefined && c.keyId !== null && typeof c.keyId !== "string") return null;
	if (c.service !== undefined && typeof c.service !== "string") return null;
	// A tenant always comes with its role; an identity is a tenant's or a service's.
	if ((c.tenant === undefined) !== (c.role === undefined)) return null;
	if (c.tenant === undefined && c.service === undefined) return null;
	return c as unknown as IdentityClaims;
}

/**
 * Checks a token: its signature (compared in constant time), then its claims, then its expiry
 * (with CLOCK_SKEW_MS of grace). Never throws.
 */
export function verifyIdentity(
	token: unknown,
	secret: string,
	now: number,
	skewMs: number = CLOCK_SKEW_MS,
): VerifiedIdentity {
	if (token === undefined || token === null || token === "")
		return { ok: false, reason: "missing" };
	if (typeof token !== "string" || token.length > MAX_TOKEN_LENGTH)
		return { ok: false, reason: "malformed" };
	const parts = token.split(".");
	if (
		parts.length !== 2 ||
		!/^[A-Za-z0-9_-]+$/.test(parts[0]) ||
		!/^[A-Za-z0-9_-]+$/.test(parts[1])
	)
		return { ok: false, reason: "malformed" };
	const [payload, signature] = parts;
	const given = Buffer.from(signature, "base64url");
	const expected = mac(payload, secret);
	if (given.length !== expected.length || !timingSafeEqual(given, expected))
		return { ok: false, reason: "bad-signature" };
	let claims: IdentityClaims | null;
	try {
		claims = readClaims(JSON.parse(Buffer.from(payload, "base64url").toString("utf8")));
	} catch {
		claims = null;
	}
	if (claims === null) return { ok: false, reason: "malformed" };
	if (claims.exp + skewMs <= now) return { ok: false, reason: "expired" };
	return { ok: true, claims };
}
