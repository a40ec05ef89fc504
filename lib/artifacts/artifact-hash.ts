/** How artifacts are named: the lowercase hex sha256 of their bytes. */
import { InvalidInputError } from "../errors";

/** A sha256 as the store names blobs: 64 lowercase hex digits. */
export const SHA256_PATTERN = /^[0-9a-f]{64}$/;

/** The same, as the action schemas accept it (any case, optionally prefixed with "sha256:"). */
export const SHA256_PARAM_PATTERN = /^(sha256:)?[0-9a-fA-F]{64}$/;

/**
 * The canonical form of a hash: lowercase, without a "sha256:" prefix; null when the value is
 * not a sha256 at all.
 */
export function normalizeSha256(value: string): string | null {
	const bare = value.startsWith("sha256:") ? value.slice("sha256:".length) : value;
	const lower = bare.toLowerCase();
	return SHA256_PATTERN.test(lower) ? lower : null;
}

/** The canonical form of a hash a client gave, or a 400 that says what is expected. */
export function requireSha256(value: string, what = "sha256"): string {
	const normalized = normalizeSha256(value);
	if (normalized === null) {
		throw new InvalidInputError(
			`${what} must be 64 hex digits (a sha256), optionally prefixed with "sha256:"; got "${value.slice(0, 80)}".`,
			{ field: what },
		);
	}
	return normalized;
}
