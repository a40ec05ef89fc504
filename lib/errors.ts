/**
 * The one error module (docs/architecture.md, "Conventions"). Every error a client or an operator
 * can cause is a class here with a fixed `code` (HTTP-like), a stable UPPER_SNAKE `type` and
 * plain-JSON `data`: only those survive the transporter, where the receiving node rebuilds the
 * error by its class name.
 */
import { Errors } from "moleculer";

/** Every stable error type, with what it means. A test keeps this catalogue complete. */
export const ERROR_CATALOGUE = {
	INVALID_CONFIGURATION:
		"An environment variable or option has a value the node cannot use; the message names it and the accepted form.",
	NATS_REFUSED:
		"The NATS server refused this node's credentials, or TLS to it failed: the node cannot join the fleet and does not start; the message names the settings to check.",
	SERVICE_NOT_READY:
		"A service this request needs is not running anywhere in the fleet yet (503); retry later.",
	CONTROL_UNAVAILABLE:
		"No control node answers (503): writes (models, versions, keys, deployments, jobs) wait until one is back; predictions of deployed models go on (data.service names what was missing). Retry after data.retryAfterMs (Retry-After).",
	LEASE_LOST:
		"A control node's write as leader was refused because its leadership lease lapsed or passed to another node (503, internal): the node stopped acting; the new leader carries on.",
	UNAUTHENTICATED:
		"No API key, or a key that is unknown, revoked or expired (401); inside the fleet, a call whose signed caller identity is missing, forged, changed or expired (data.reason says which).",
	FORBIDDEN: "The key's role may not do this (403); the message names the role that may.",
	NOT_FOUND:
		"No such object for this tenant (404): model, version, alias, tenant, key or artifact. Another tenant's objects answer the same.",
	ALREADY_EXISTS:
		"An object with this name or version already exists (409): model name per tenant, version per model, tenant name.",
	INVALID_TRANSITION:
		"The lifecycle does not allow this state change (409); the message lists the allowed ones.",
	STATE_CONFLICT:
		"The object's state forbids this (409), e.g. deleting a model while a version is Deployed.",
	IDEMPOTENCY_CONFLICT:
		"A version create carried an idempotency key (the Idempotency-Key header, a training job's) that already made a version of this model with a different request (409); data.version names that version. Send the same request to get it again, or a new key for a new version.",
	RESERVED_IDEMPOTENCY_KEY:
		"A version create over the REST API sent an idempotency key that starts with a prefix the fleet keeps for its own registrations (400): `job:` is a training or optimization job's. Use another key, e.g. a UUID.",
	INVALID_INPUT:
		"A value is well-formed but not acceptable (400): a version string, a schema, a pipeline spec; the message says where.",
	INVALID_MODEL_FILE:
		"The uploaded model file cannot be read as its format (400): corrupt, truncated or not that format; the parser's reason is given.",
	UNSAFE_MODEL_FORMAT:
		"A Python pickle or joblib file (400): unpickling runs arbitrary code; export to ONNX instead.",
	SCHEMA_MISMATCH:
		"The schema given with a model file disagrees with the one the file holds (400); the message says where.",
	PAYLOAD_TOO_LARGE: "The upload is larger than the configured limit (413).",
	REQUEST_TOO_LARGE:
		"A prediction request carries more rows or tensor bytes than the configured limit (413); send it in parts.",
	RATE_LIMITED:
		"The API key (or, without one, the client address) sent more requests than its limit in the current window (429): retry after data.retryAfterMs, and Retry-After over HTTP.",
	RESOURCE_LIMIT_EXCEEDED:
		"The tenant reached one of its quotas (docs/usage-and-quotas.md): 403 for a size (models, versions, stored bytes, deployments, replicas, GPUs, concurrent training jobs), 429 for a prediction rate (retry after data.retryAfterMs); data names the quota, its limit and the current use.",
	TOO_MANY_IN_FLIGHT:
		"The API key (or, without one, the client address) already has as many request-body bytes or open event streams in flight as its limit allows (429): retry after data.retryAfterMs (Retry-After); data.setting names the limit.",
	GATEWAY_BUSY:
		"The gateway already holds its configured total of request-body bytes in flight (503): retry after data.retryAfterMs (Retry-After); data.setting names the limit.",
	BODY_TIMEOUT:
		"The request body stopped arriving for longer than MODELFLEET_BODY_IDLE_TIMEOUT_S (408); the connection is closed.",
	ARCHIVE_TOO_LARGE:
		"An archive (a TF.js .tar or .tar.gz) unpacks to more bytes or entries than the configured limit (413); data.setting names it. Unpacking stops there.",
	OVERLOADED:
		"The model's queue is full (503): retry after the hinted time (data.retryAfterMs, and Retry-After over HTTP).",
	DEADLINE_EXCEEDED:
		"The request's deadline passed while it waited in the queue (504); it was not run.",
	MODEL_LOAD_FAILED:
		"The model version could not be loaded on this node (503, retryable): the message says why.",
	JSON_TOO_DEEP:
		"A JSON body (or JSON text inside a request) nests objects and arrays deeper than the limit (400); the message names it (MODELFLEET_MAX_JSON_DEPTH).",
	INVALID_TEXT:
		"A path, query or JSON string holds a NUL character, invalid UTF-8, a lone UTF-16 surrogate or a malformed percent-escape (400); data.where says which part.",
	INVALID_CURSOR:
		"A list's `cursor` is not one the list handed out (400): pass back `nextCursor` unchanged, or leave it out for the first page.",
	RANGE_NOT_SATISFIABLE:
		"A download's `Range` starts at or past the end of the file (416); data.size is the file's size.",
	ARTIFACT_CORRUPT:
		"An artifact's bytes did not match its sha256 on arrival (500, retryable); nothing was kept.",
	ARTIFACT_UNREADABLE:
		"A stored artifact could not be decrypted (500): its file was changed or cut short on disk, or it was encrypted under another key than MODELFLEET_ENCRYPTION_KEY (or none is set); the message says which.",
} as const;

export type ErrorType = keyof typeof ERROR_CATALOGUE;

/** One problem found in configuration: which setting and what is wrong with it. */
export interface ConfigurationProblem {
	setting: string;
	problem: string;
}

/**
 * Thrown at start when configuration is wrong. Not a client error: the node refuses to
 * start and says every wrong setting at once, so an operator fixes them in one go.
 */
export class InvalidConfigurationError extends Errors.MoleculerError {
	constructor(problems: ConfigurationProblem[]) {
		super(
			"Invalid configuration:\n" +
				problems.map(p => `  - ${p.setting}: ${p.problem}`).join("\n"),
			500,
			"INVALID_CONFIGURATION" satisfies ErrorType,
			{ problems },
		);
		this.name = "InvalidConfigurationError";
	}
}

/** Why the NATS server turned a node away: its credentials, or TLS. */
export type NatsRefusal = "credentials" | "tls";

/**
 * Thrown at start when the NATS server refuses the node for good (an authorization violation,
 * a certificate that does not verify): retrying with the same settings cannot succeed, so the
 * node does not start. The message names the settings to check, never their values.
 */
export class NatsRefusedError extends Errors.MoleculerError {
	constructor(reason: NatsRefusal, detail: string) {
		super(
			reason === "credentials"
				? `NATS refused this node's credentials (${detail}): check the user and password or ` +
						"token in TRANSPORTER, or MODELFLEET_NATS_CREDS / MODELFLEET_NATS_NKEY_SEED."
				: `TLS to NATS failed (${detail}): check tls:// in TRANSPORTER and ` +
						"MODELFLEET_NATS_TLS_CA, MODELFLEET_NATS_TLS_CERT and MODELFLEET_NATS_TLS_KEY.",
			500,
			"NATS_REFUSED" satisfies ErrorType,
			{ reason, detail },
		);
		this.name = "NatsRefusedError";
	}
}

/** A service the request needs has no available instance in the fleet. */
export class ServiceNotReadyError extends Errors.MoleculerRetryableError {
	constructor(missing: string[]) {
		super(
			`Not ready: no running instance of ${missing.join(", ")}. ` +
				"Start a node whose role runs it (see README, node roles), or retry in a moment.",
			503,
			"SERVICE_NOT_READY" satisfies ErrorType,
			{ missing },
		);
		this.name = "ServiceNotReadyError";
	}
}

/**
 * A write (or a read only the control plane can answer) while no control node answers: the
 * control plane is down or unreachable. Predictions of deployed models do not need it.
 */
export class ControlUnavailableError extends Errors.MoleculerRetryableError {
	constructor(service: string, retryAfterMs = 5000) {
		super(
			`No control node answers right now (the ${service} service is unreachable) and this request needs one: it was not done; retry once a control node is back. Predictions of versions the workers already serve go on meanwhile (for up to MODELFLEET_CONTROL_OUTAGE_S).`,
			503,
			"CONTROL_UNAVAILABLE" satisfies ErrorType,
			{ service, retryAfterMs },
		);
		this.name = "ControlUnavailableError";
	}
}

/**
 * A leader's write refused by the fence: the node's leadership lease (epoch `epoch`) lapsed or
 * passed to another node, so it must stop acting as leader.
 */
export class LeaseLostError extends Errors.MoleculerError {
	constructor(lease: string, epoch: number | null, reason: string) {
		super(
			`This node no longer holds the '${lease}' lease${epoch !== null ? ` (epoch ${epoch})` : ""}: ${reason}; its write as leader was refused.`,
			503,
			"LEASE_LOST" satisfies ErrorType,
			{ lease, epoch, reason },
		);
		this.name = "LeaseLostError";
	}
}

type ClientErrorType = Exclude<
	ErrorType,
	| "INVALID_CONFIGURATION"
	| "NATS_REFUSED"
	| "SERVICE_NOT_READY"
	| "CONTROL_UNAVAILABLE"
	| "LEASE_LOST"
	| "ARTIFACT_CORRUPT"
	| "ARTIFACT_UNREADABLE"
	| "GATEWAY_BUSY"
>;

/** A client mistake: fixed status and type, a message that says what to do, plain-JSON data. */
abstract class ClientError extends Errors.MoleculerClientError {
	constructor(
		message: string,
		code: number,
		type: ClientErrorType,
		data?: Record<string, unknown>,
	) {
		super(message, code, type, data);
		this.name = new.target.name;
	}
}

export class UnauthenticatedError extends ClientError {
	constructor(
		message = "Missing or invalid API key: send it as 'Authorization: Bearer <key>'.",
		data?: Record<string, unknown>,
	) {
		super(message, 401, "UNAUTHENTICATED", data);
	}
}

export class ForbiddenError extends ClientError {
	constructor(role: string, action: string, allowed: readonly string[]) {
		super(
			`Role '${role}' may not ${action}; it needs one of: ${allowed.join(", ")}.`,
			403,
			"FORBIDDEN",
			{ role, action, allowed: [...allowed] },
		);
	}
}

export class NotFoundError extends ClientError {
	constructor(kind: string, id: string) {
		super(`${kind} '${id}' not found.`, 404, "NOT_FOUND", { kind, id });
	}
}

export class AlreadyExistsError extends ClientError {
	constructor(kind: string, id: string, hint = "") {
		super(`${kind} '${id}' already exists.${hint ? " " + hint : ""}`, 409, "ALREADY_EXISTS", {
			kind,
			id,
		});
	}
}

export class InvalidTransitionError extends ClientError {
	constructor(from: string, to: string, allowed: readonly string[]) {
		super(
			`Cannot move a version from ${from} to ${to}; from ${from} it may go to: ${allowed.length ? allowed.join(", ") : "nothing (final state)"}.`,
			409,
			"INVALID_TRANSITION",
			{ from, to, allowed: [...allowed] },
		);
	}
}

export class StateConflictError extends ClientError {
	constructor(message: string, data?: Record<string, unknown>) {
		super(message, 409, "STATE_CONFLICT", data);
	}
}

/** A create's idempotency key already made `version` from another request (version-idempotency.ts). */
export class IdempotencyConflictError extends ClientError {
	constructor(key: string, model: string, version: string) {
		super(
			`Idempotency key '${key}' already made version ${version} of model '${model}' from a different request: send the same request to get that version again, or use a new key for a new version.`,
			409,
			"IDEMPOTENCY_CONFLICT",
			{ key, model, version },
		);
	}
}

/**
 * A client sent an idempotency key of the form the fleet's own registrations use (`job:<jobId>`):
 * taken, it would answer — or make — the version a job registers under it.
 */
export class ReservedIdempotencyKeyError extends ClientError {
	constructor(key: string, prefix: string) {
		super(
			`Idempotency keys starting with '${prefix}' are kept for the fleet's own training and optimization jobs: send another key (e.g. a UUID), not '${key}'.`,
			400,
			"RESERVED_IDEMPOTENCY_KEY",
			{ field: "idempotencyKey", key, prefix },
		);
	}
}

export class InvalidInputError extends ClientError {
	constructor(message: string, data?: Record<string, unknown>) {
		super(message, 400, "INVALID_INPUT", data);
	}
}

export class InvalidModelFileError extends ClientError {
	constructor(format: string, reason: string) {
		super(`The file is not a valid ${format} model: ${reason}`, 400, "INVALID_MODEL_FILE", {
			format,
			reason,
		});
	}
}

export class UnsafeModelFormatError extends ClientError {
	constructor(detected: string) {
		super(
			`${detected} files are refused: loading them unpickles, which runs arbitrary code from the file. ` +
				"Export the model to ONNX instead (scikit-learn: skl2onnx.convert_sklearn; PyTorch: torch.onnx.export; " +
				"TensorFlow/Keras: tf2onnx.convert) or save XGBoost with Booster.save_model('model.json').",
			400,
			"UNSAFE_MODEL_FORMAT",
			{ detected },
		);
	}
}

export class SchemaMismatchError extends ClientError {
	constructor(where: string, given: unknown, inFile: unknown) {
		super(
			`The schema given disagrees with the model file at ${where}: given ${JSON.stringify(given)}, the file has ${JSON.stringify(inFile)}. Leave it out to take the file's.`,
			400,
			"SCHEMA_MISMATCH",
			{ where, given, inFile },
		);
	}
}

export class PayloadTooLargeError extends ClientError {
	constructor(limitBytes: number) {
		super(
			`The upload is larger than the limit of ${limitBytes} bytes (MODELFLEET_MAX_ARTIFACT_BYTES).`,
			413,
			"PAYLOAD_TOO_LARGE",
			{ limitBytes },
		);
	}
}

/** Bytes that did not hash to what they should: a transfer went wrong; retrying may help. */
export class ArtifactCorruptError extends Errors.MoleculerRetryableError {
	constructor(expected: string, actual: string) {
		super(
			`Artifact bytes hash to sha256:${actual}, expected sha256:${expected}; nothing was kept.`,
			500,
			"ARTIFACT_CORRUPT" satisfies ErrorType,
			{ expected, actual },
		);
		this.name = "ArtifactCorruptError";
	}
}

/**
 * An encrypted blob on this node's disk that does not open: tampered or truncated, or sealed
 * under another master key than this node's. Not retryable here: the file will not change.
 */
export class ArtifactUnreadableError extends Errors.MoleculerError {
	constructor(what: string, reason: string) {
		super(
			`Artifact ${what} could not be decrypted: ${reason}`,
			500,
			"ARTIFACT_UNREADABLE" satisfies ErrorType,
			{ artifact: what, reason },
		);
		this.name = "ArtifactUnreadableError";
	}
}

/** Too many requests from one key (or address) in the current rate-limit window. */
export class RateLimitedError extends ClientError {
	constructor(limit: number, windowMs: number, retryAfterMs: number) {
		const wait = Math.max(1, Math.ceil(retryAfterMs));
		super(
			`Rate limit of ${limit} requests per ${windowMs} ms reached for this API key (or client address); retry in about ${wait} ms (MODELFLEET_RATE_LIMIT).`,
			429,
			"RATE_LIMITED",
			{ limit, windowMs, retryAfterMs: wait },
		);
	}
}

/**
 * A tenant's quota is reached (lib/quotas): a size answers 403 (delete something, or ask an
 * admin for more), a rate 429 with the time until its window ends.
 */
export class ResourceLimitExceededError extends ClientError {
	constructor(
		quota: string,
		kind: "size" | "rate",
		limit: number,
		current: number,
		retryAfterMs?: number,
	) {
		const rate = kind === "rate";
		const wait = rate ? Math.max(1, Math.ceil(retryAfterMs ?? 1000)) : undefined;
		super(
			rate
				? `The tenant's quota '${quota}' of ${limit} is used up (${current} so far); retry in about ${wait} ms, or ask an admin to raise it (PUT /api/v1/tenants/{id}/quotas).`
				: `The tenant's quota '${quota}' is ${limit} and ${current} are in use: this would exceed it. Delete what is no longer needed, or ask an admin to raise it (PUT /api/v1/tenants/{id}/quotas).`,
			rate ? 429 : 403,
			"RESOURCE_LIMIT_EXCEEDED",
			{ quota, limit, current, ...(wait !== undefined ? { retryAfterMs: wait } : {}) },
		);
	}
}

/** One key (or address) holds as many request bytes or event streams at once as it may. */
export class TooManyInFlightError extends ClientError {
	constructor(what: string, limit: number, setting: string, retryAfterMs = 1000) {
		const wait = Math.max(1, Math.ceil(retryAfterMs));
		super(
			`This API key (or client address) already has ${what} in flight up to its limit of ${limit} (${setting}); retry in about ${wait} ms, once some have finished.`,
			429,
			"TOO_MANY_IN_FLIGHT",
			{ limit, setting, retryAfterMs: wait },
		);
	}
}

/** The gateway's total of request bytes in flight is spent: come back later. */
export class GatewayBusyError extends Errors.MoleculerRetryableError {
	constructor(limitBytes: number, setting: string, retryAfterMs = 1000) {
		const wait = Math.max(1, Math.ceil(retryAfterMs));
		super(
			`The gateway already holds its limit of ${limitBytes} request-body bytes in flight (${setting}); retry in about ${wait} ms.`,
			503,
			"GATEWAY_BUSY" satisfies ErrorType,
			{ limit: limitBytes, setting, retryAfterMs: wait },
		);
		this.name = "GatewayBusyError";
	}
}

/** A request body that stopped arriving: the connection is dropped. */
export class BodyTimeoutError extends ClientError {
	constructor(idleS: number) {
		super(
			`The request body sent nothing for ${idleS} s (MODELFLEET_BODY_IDLE_TIMEOUT_S); the connection is closed. Send the body without pauses.`,
			408,
			"BODY_TIMEOUT",
			{ idleS, setting: "MODELFLEET_BODY_IDLE_TIMEOUT_S" },
		);
	}
}

/** An archive that unpacks past a limit: unpacking stopped at the first byte or entry over it. */
export class ArchiveTooLargeError extends ClientError {
	constructor(what: "bytes" | "entries", limit: number, setting: string) {
		super(
			`The archive unpacks to more than ${limit} ${what === "bytes" ? "bytes" : "entries"} (${setting}); unpacking stopped there. Send a smaller model, or raise ${setting}.`,
			413,
			"ARCHIVE_TOO_LARGE",
			{ what, limit, setting },
		);
	}
}

/** A full queue: the caller should come back later rather than wait without bound. */
export class OverloadedError extends Errors.MoleculerRetryableError {
	constructor(what: string, retryAfterMs: number) {
		super(
			`${what} is overloaded: its queue is full. Retry in about ${Math.ceil(retryAfterMs)} ms.`,
			503,
			"OVERLOADED" satisfies ErrorType,
			{ retryAfterMs: Math.ceil(retryAfterMs) },
		);
		this.name = "OverloadedError";
	}
}

/** The request waited in a queue past its deadline and was dropped without running. */
export class DeadlineExceededError extends Errors.MoleculerError {
	constructor(waitedMs: number) {
		super(
			`The request's deadline passed after ${Math.round(waitedMs)} ms in the queue; it was not run. Allow a longer timeout or send less at once.`,
			504,
			"DEADLINE_EXCEEDED" satisfies ErrorType,
			{ waitedMs: Math.round(waitedMs) },
		);
		this.name = "DeadlineExceededError";
	}
}

/** A model version that could not be loaded; retrying (perhaps on another node) may work. */
export class ModelLoadError extends Errors.MoleculerRetryableError {
	constructor(ref: string, reason: string) {
		super(
			`Model ${ref} could not be loaded: ${reason}`,
			503,
			"MODEL_LOAD_FAILED" satisfies ErrorType,
			{
				ref,
				reason,
			},
		);
		this.name = "ModelLoadError";
	}
}

/** A prediction request over the rows or bytes limit. */
export class RequestTooLargeError extends ClientError {
	constructor(what: string, actual: number, limit: number, setting: string, unit: string) {
		super(
			`${what}: ${actual} ${unit}, over the limit of ${limit} ${unit} per request (${setting}); send fewer rows per request.`,
			413,
			"REQUEST_TOO_LARGE",
			{ limit, actual, setting },
		);
	}
}

/** JSON nested deeper than the decoding policy allows (lib/http/json-policy.ts). */
export class JsonTooDeepError extends ClientError {
	constructor(what: string, limit: number, setting: string) {
		super(
			`${what} nests objects and arrays deeper than the limit of ${limit} levels (${setting}); send flatter JSON.`,
			400,
			"JSON_TOO_DEEP",
			{ limit, setting },
		);
	}
}

/** Text the node does not store or pass on: NUL, invalid UTF-8, lone surrogates, bad escapes. */
export class InvalidTextError extends ClientError {
	constructor(where: string, problem: string) {
		super(
			`${where} holds ${problem}; send UTF-8 text without NUL characters.`,
			400,
			"INVALID_TEXT",
			{ where, problem },
		);
	}
}

/** A page cursor the list did not hand out. */
export class InvalidCursorError extends ClientError {
	constructor() {
		super(
			"The cursor is not one this list handed out: pass back nextCursor unchanged, or leave cursor out for the first page.",
			400,
			"INVALID_CURSOR",
			{ where: "cursor" },
		);
	}
}

/** A download's byte range lies outside the file. */
export class RangeNotSatisfiableError extends ClientError {
	constructor(range: string, size: number) {
		super(
			`The range '${range}' is not within the file's ${size} bytes: ask for bytes=0-${Math.max(0, size - 1)} or less.`,
			416,
			"RANGE_NOT_SATISFIABLE",
			{ range, size },
		);
	}
}
