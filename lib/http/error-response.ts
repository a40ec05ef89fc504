/** How an error becomes an HTTP response: the status code and a JSON body a client can act on. */
import type { IncomingMessage, ServerResponse } from "node:http";
import { ControlUnavailableError, ERROR_CATALOGUE } from "../errors";
import { ROLE_SERVICES } from "../fleet/node-role";
import { writeRequestId } from "../observability/http-request";

export interface ErrorResponse {
	status: number;
	body: { name: string; type: string; message: string; code: number; data?: unknown };
	/** Seconds a client should wait before retrying (the `Retry-After` header), when known. */
	retryAfterS?: number;
}

interface ErrorLike {
	name?: unknown;
	message?: unknown;
	code?: unknown;
	type?: unknown;
	data?: unknown;
}

const INTERNAL: ErrorResponse = {
	status: 500,
	body: {
		name: "InternalError",
		type: "INTERNAL_ERROR",
		message: "Internal server error; the node's log has the details.",
		code: 500,
	},
};

/**
 * Errors the framework raises (Moleculer, moleculer-web, the JSON body parser), in our terms:
 * the status, a stable type, and a message that names what to do without naming internals
 * (action names, node IDs, parser internals).
 */
const FRAMEWORK_ERRORS: Readonly<
	Record<string, { status: number; type: string; message: string | null }>
> = {
	REQUEST_TIMEOUT: {
		status: 504,
		type: "REQUEST_TIMEOUT",
		message:
			"The request took longer than the time limit (MODELFLEET_REQUEST_TIMEOUT_MS) and was abandoned; retry, or send less at once.",
	},
	SERVICE_NOT_FOUND: {
		status: 503,
		type: "SERVICE_NOT_READY",
		message: "A service this request needs is not running in the fleet right now; retry later.",
	},
	SERVICE_NOT_AVAILABLE: {
		status: 503,
		type: "SERVICE_NOT_READY",
		message:
			"A service this request needs is not available in the fleet right now; retry later.",
	},
	REQUEST_REJECTED: {
		status: 503,
		type: "SERVICE_NOT_READY",
		message: "A service this request needs is failing and was not called; retry later.",
	},
	QUEUE_FULL: {
		status: 503,
		type: "OVERLOADED",
		message: "The service this request needs is overloaded; retry later.",
	},
	"entity.parse.failed": { status: 400, type: "INVALID_INPUT", message: null },
	"entity.too.large": {
		status: 413,
		type: "REQUEST_TOO_LARGE",
		message: "The request body is larger than this route accepts; send less at once.",
	},
	"encoding.unsupported": {
		status: 415,
		type: "INVALID_INPUT",
		message:
			"The request body's Content-Encoding is not supported; send it uncompressed, or as gzip or deflate.",
	},
	"charset.unsupported": {
		status: 415,
		type: "INVALID_INPUT",
		message: "The request body's charset is not supported; send UTF-8.",
	},
	"request.aborted": {
		status: 400,
		type: "INVALID_INPUT",
		message: "The request body ended early.",
	},
	"request.size.invalid": {
		status: 400,
		type: "INVALID_INPUT",
		message: "The request body's length does not match its Content-Length.",
	},
};

/** The services only control nodes run: accounts, registry, artifacts, scheduler. */
const CONTROL_SERVICES: ReadonlySet<string> = new Set(
	ROLE_SERVICES.control.filter(name => !ROLE_SERVICES.gateway.includes(name)),
);

/** Moleculer's errors for a call that found no instance to answer it. */
const NO_INSTANCE = new Set(["SERVICE_NOT_FOUND", "SERVICE_NOT_AVAILABLE", "REQUEST_REJECTED"]);

/**
 * A call to a control service that found no control node (all down, or the one it was sent to
 * vanished): said as the control plane being unavailable, naming the service, so a client
 * knows its write was not done and why, and that predictions are not affected.
 */
function controlPlaneDown(type: string | null, data: unknown): ControlUnavailableError | null {
	if (type === null || !NO_INSTANCE.has(type)) return null;
	const action = (data as { action?: unknown } | undefined)?.action;
	const name =
		typeof action === "string"
			? action
			: typeof (action as { name?: unknown } | undefined)?.name === "string"
				? (action as { name: string }).name
				: "";
	const service = name.split(".")[0];
	return CONTROL_SERVICES.has(service) ? new ControlUnavailableError(service) : null;
}

/** The first line of a message with file paths cut out, for errors whose text we did not write. */
export function scrubMessage(message: string): string {
	return message
		.split("\n")[0]
		.replace(/(?:[A-Za-z]:\\|\/)(?:[\w.@-]+[/\\])+[\w.@-]*/g, "<path>")
		.slice(0, 300);
}

/** Our own errors, and Moleculer's parameter validation, keep their message and data. */
function isOurs(type: string): boolean {
	return type in ERROR_CATALOGUE || type === "VALIDATION_ERROR";
}

/**
 * Client mistakes keep their status, type, message and data; Moleculer's parameter validation (422)
 * answers 400 as docs/http-api.md's error table says (`VALIDATION_ERROR`); the framework's own
 * errors are put in our terms (FRAMEWORK_ERRORS), others lose their data and any path in their
 * message. Anything without an HTTP-like code is a 500 whose message does not leak internals.
 */
export function toErrorResponse(err: unknown): ErrorResponse {
	const e = (err ?? {}) as ErrorLike;
	const code = typeof e.code === "number" && Number.isInteger(e.code) ? e.code : 500;
	if (code < 400 || code >= 600) return INTERNAL;
	const type = typeof e.type === "string" && e.type !== "" ? e.type : null;
	const name = typeof e.name === "string" ? e.name : "Error";
	const message = typeof e.message === "string" ? e.message : "";
	const controlDown = controlPlaneDown(type, e.data);
	if (controlDown !== null) return toErrorResponse(controlDown);

	if (type !== null && isOurs(type)) {
		const status = type === "VALIDATION_ERROR" ? 400 : code;
		const retryAfterMs = (e.data as { retryAfterMs?: unknown } | undefined)?.retryAfterMs;
		return {
			status,
			body: {
				name,
				type,
				message,
				code: status,
				...(e.data !== undefined ? { data: e.data } : {}),
			},
			...(typeof retryAfterMs === "number" && retryAfterMs >= 0
				? { retryAfterS: Math.max(1, Math.ceil(retryAfterMs / 1000)) }
				: {}),
		};
	}
	const known = type !== null ? FRAMEWORK_ERRORS[type] : undefined;
	if (known) {
		const text =
			known.message ??
			`The request body is not valid JSON (${scrubMessage(message)}); send a JSON object.`;
		return {
			status: known.status,
			body: { name, type: known.type, message: text, code: known.status },
		};
	}
	if (code === 503)
		return {
			status: 503,
			body: {
				name,
				type: "SERVICE_NOT_READY",
				message: "A service this request needs is not available right now; retry later.",
				code,
			},
		};
	if (code >= 500) return { ...INTERNAL, status: code, body: { ...INTERNAL.body, code } };
	const fallbackType = code === 429 ? "RATE_LIMITED" : "INVALID_INPUT";
	return {
		status: code,
		body: { name, type: type ?? fallbackType, message: scrubMessage(message), code },
	};
}

/** What the error writers need of moleculer-web's service: its logger. */
export interface ErrorWriterThis {
	logger: { error(...args: unknown[]): void };
}

/**
 * The body as JSON text. An error's data is the client's to read, not to trust: data that
 * cannot be written (nested past the stack, a cycle, a BigInt) is left out rather than let
 * JSON.stringify throw out of the error writer, which would end the process.
 */
function bodyText(response: ErrorResponse, body: (response: ErrorResponse) => unknown): string {
	try {
		return JSON.stringify(body(response));
	} catch {
		const withoutData = { ...response.body };
		delete withoutData.data;
		try {
			return JSON.stringify(body({ ...response, body: withoutData }));
		} catch {
			return JSON.stringify(body(INTERNAL));
		}
	}
}

/** Writes an error response: the status, `Retry-After` when known, and the JSON body given. Never throws. */
export function writeError(
	this: ErrorWriterThis,
	res: ServerResponse,
	err: unknown,
	body: (response: ErrorResponse) => unknown,
): void {
	const response = toErrorResponse(err);
	if (response.status >= 500 && response.status !== 503 && response.status !== 504) {
		try {
			this.logger.error("Request failed:", err);
		} catch {
			// A logger that cannot print the error (nested past the stack) must not end the process.
		}
	}
	if (res.headersSent || res.destroyed) {
		res.end();
		return;
	}
	writeRequestId(res);
	res.writeHead(response.status, {
		"Content-Type": "application/json; charset=utf-8",
		...(response.retryAfterS !== undefined
			? { "Retry-After": String(response.retryAfterS) }
			: {}),
	});
	res.end(bodyText(response, body));
}

/** moleculer-web's `onError` for the REST routes: `{name, type, message, code, data?}`. */
export function restError(
	this: ErrorWriterThis,
	_req: IncomingMessage,
	res: ServerResponse,
	err: unknown,
): void {
	writeError.call(this, res, err, response => response.body);
}
