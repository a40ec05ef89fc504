import { createHash, createHmac, randomBytes } from "node:crypto";

/** Every key starts with this, so leaked keys are easy to find in logs and secret scanners. */
export const API_KEY_PREFIX = "mf_";
/** The most characters of a key that are stored and shown in listings. */
export const MAX_VISIBLE_PREFIX_LENGTH = 8;
/** A key's stored prefix is never more than this share of it (an operator-chosen key may be short). */
const MAX_VISIBLE_SHARE = 1 / 4;
/** Marks a keyed hash in api_keys.hash; a row without it holds a legacy unsalted sha256. */
const KEYED_HASH_SCHEME = "hmac-sha256:";

export interface NewApiKey {
	/** The whole key: shown once, never stored. */
	key: string;
	/** Its first few characters, stored and shown in listings. */
	prefix: string;
	/** The keyed hash of the key, stored and looked up on authentication. */
	hash: string;
}

/**
 * What listings show of a key: at most its first 8 characters, and at most a quarter of it,
 * so a short operator-chosen key (`mf-bootstrap-key1`) keeps almost all of its characters secret.
 */
export function visiblePrefix(key: string): string {
	return key.slice(
		0,
		Math.min(MAX_VISIBLE_PREFIX_LENGTH, Math.floor(key.length * MAX_VISIBLE_SHARE)),
	);
}

/**
 * HMAC-SHA-256 of the key under the installation's secret (lib/accounts/key-secret.ts). Keyed,
 * so the hashes alone (a leaked table, a backup without the secret) cannot be checked against
 * guesses of a chosen key; fast, because authentication runs on every uncached request.
 */
export function hashApiKey(key: string, secret: string): string {
	return KEYED_HASH_SCHEME + createHmac("sha256", secret).update(key, "utf8").digest("hex");
}

/** How keys were stored before keyed hashes: a plain sha256 (rewritten keyed on first use). */
export function legacyApiKeyHash(key: string): string {
	return createHash("sha256").update(key, "utf8").digest("hex");
}

/** Whether a stored hash is the keyed kind (else a legacy sha256, to be rewritten). */
export function isKeyedHash(hash: string): boolean {
	return hash.startsWith(KEYED_HASH_SCHEME);
}

export function generateApiKey(secret: string): NewApiKey {
	return apiKeyFrom(API_KEY_PREFIX + randomBytes(32).toString("base64url"), secret);
}

/** An operator-chosen key (MODELFLEET_BOOTSTRAP_KEY) stored the same way. */
export function apiKeyFrom(key: string, secret: string): NewApiKey {
	return { key, prefix: visiblePrefix(key), hash: hashApiKey(key, secret) };
}

/** A new installation secret: 256 random bits. */
export function newKeySecret(): string {
	return randomBytes(32).toString("base64url");
}
