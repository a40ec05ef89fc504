/**
 * Idempotent version creation. A create may carry an idempotency key (a training job's is
 * `job:<jobId>`; over REST the `Idempotency-Key` header), kept with the version and unique per
 * tenant and model: the same create sent again — its answer lost, the job's completion run
 * again — answers the version the first one made instead of making another. With the key goes a
 * fingerprint of the request, so that the key sent with a different request is refused (409
 * IDEMPOTENCY_CONFLICT, naming the version the key made) rather than answered with a version
 * that is not what the caller asked for.
 */
import { createHash } from "node:crypto";
import { ReservedIdempotencyKeyError, type ErrorType } from "../errors";

/** The action params rule of a key: 1–255 visible ASCII characters (a UUID, `job:<id>`, …). */
export const IDEMPOTENCY_KEY_RULE = {
	type: "string",
	optional: true,
	min: 1,
	max: 255,
	pattern: /^[\x21-\x7e]+$/,
} as const;

/** The error type a create with a used key and a different request answers (lib/errors.ts). */
const IDEMPOTENCY_CONFLICT: ErrorType = "IDEMPOTENCY_CONFLICT";

/**
 * The call meta of a create whose answer is a replay — the version an earlier create with its
 * key made; this one made nothing. Merged back to the caller: the gateway answers it as
 * `Idempotent-Replayed: true` (lib/http/idempotency-key-header.ts).
 */
export interface ReplayMeta {
	idempotentReplay?: boolean;
}

/** A create's key and the fingerprint of the request it came with. */
export interface Idempotency {
	key: string;
	fingerprint: string;
}

/** The prefix of the keys jobs register under (jobVersionKey): the fleet's, not a client's. */
export const JOB_KEY_PREFIX = "job:";

/**
 * The key of the version a job registers. Without the attempt: a job resumed on another
 * attempt (its trainer lost after registering, before reporting) still makes one version.
 */
export function jobVersionKey(jobId: string): string {
	return `${JOB_KEY_PREFIX}${jobId}`;
}

/**
 * Refuses a key a client sends (REST) when it has the form of a job's: taken, a job's key would
 * answer that job's version to the client — or, sent first, make a version that the job, its
 * own registration then refused as a conflict, adopts as its result (registerJobVersion).
 * Exact and case-sensitive, as keys are compared: `JOB:1` or `x-job:1` cannot meet a job's.
 */
export function assertClientKey(key: unknown): void {
	if (typeof key === "string" && key.startsWith(JOB_KEY_PREFIX))
		throw new ReservedIdempotencyKeyError(key, JOB_KEY_PREFIX);
}

/** JSON with object keys sorted and undefined members left out: equal requests, equal text. */
export function canonicalJson(value: unknown): string {
	if (Array.isArray(value)) return `[${value.map(v => canonicalJson(v ?? null)).join(",")}]`;
	if (value !== null && typeof value === "object") {
		const members = Object.entries(value as Record<string, unknown>)
			.filter(([, v]) => v !== undefined)
			.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
			.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`);
		return `{${members.join(",")}}`;
	}
	return JSON.stringify(value) ?? "null";
}

/** The sha256 of what was asked (`action` and its request, the key and model left out). */
export function requestFingerprint(action: string, request: Record<string, unknown>): string {
	return createHash("sha256").update(canonicalJson({ action, request })).digest("hex");
}

/** `{key, fingerprint}` for a create with a key; undefined without one (a null key is none). */
export function idempotencyOf(
	action: string,
	key: string | null | undefined,
	request: Record<string, unknown>,
): Idempotency | undefined {
	return key == null ? undefined : { key, fingerprint: requestFingerprint(action, request) };
}

/**
 * The version a refused create's key already made, when the refusal is IDEMPOTENCY_CONFLICT;
 * else null. Read from the error's type and data: a client error crosses the transporter as
 * a plain error with those, not as its class.
 */
export function versionOfKeyConflict(err: unknown): string | null {
	const { type, data } = (err ?? {}) as { type?: unknown; data?: { version?: unknown } };
	if (type !== IDEMPOTENCY_CONFLICT) return null;
	return typeof data?.version === "string" ? data.version : null;
}

/**
 * A job's registration under its key: `register()`'s answer or, when the key already made a
 * version from another request — an earlier attempt of the job registered it and its report was
 * lost — that version, the job's (`warn` says so: this attempt's files are left to artifact GC).
 */
export async function registerJobVersion(
	register: () => Promise<{ version: string }>,
	warn: (earlier: string) => void,
): Promise<{ version: string }> {
	try {
		return await register();
	} catch (err) {
		const earlier = versionOfKeyConflict(err);
		if (earlier === null) throw err;
		warn(earlier);
		return { version: earlier };
	}
}
