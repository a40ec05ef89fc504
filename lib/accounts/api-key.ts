import { createHash, randomBytes } from "node:crypto";

/** Every key starts with this, so leaked keys are easy to find in logs and secret scanners. */
export const API_KEY_PREFIX = "mf_";
/** How many characters of a key listings show. */
export const VISIBLE_PREFIX_LENGTH = 11;

export interface NewApiKey {
	/** The whole key: shown once, never stored. */
	key: string;
	/** Its first characters, stored and shown in listings. */
	prefix: string;
	/** sha256 of the key, stored and looked up on authentication. */
	hash: string;
}

/**
 * Keys carry 256 random bits, so a plain sha256 is enough to store them: there is nothing
 * to guess that a slow hash would protect.
 */
export function hashApiKey(key: string): string {
	return createHash("sha256").update(key, "utf8").digest("hex");
}

export function generateApiKey(): NewApiKey {
	return apiKeyFrom(API_KEY_PREFIX + randomBytes(32).toString("base64url"));
}

/** An operator-chosen key (MODELFLEET_BOOTSTRAP_KEY) stored the same way. */
export function apiKeyFrom(key: string): NewApiKey {
	return { key, prefix: key.slice(0, VISIBLE_PREFIX_LENGTH), hash: hashApiKey(key) };
}
