/** HTTP details of the Open Inference Protocol routes: error bodies and Triton's version names. */
import type { IncomingMessage, ServerResponse } from "node:http";
import { toErrorResponse } from "./error-response";

/** Open Inference Protocol errors: `{"error": "…"}` with the status of the error table. */
export function oipError(
	this: { logger: { error(...args: unknown[]): void } },
	_req: IncomingMessage,
	res: ServerResponse,
	err: unknown,
): void {
	const { status, body } = toErrorResponse(err);
	if (status >= 500 && status !== 503) this.logger.error("Request failed:", err);
	const retryAfter = (body.data as { retryAfterMs?: number } | undefined)?.retryAfterMs;
	res.writeHead(status, {
		"Content-Type": "application/json; charset=utf-8",
		...(retryAfter !== undefined
			? { "Retry-After": String(Math.max(1, Math.ceil(retryAfter / 1000))) }
			: {}),
	});
	res.end(JSON.stringify({ error: body.message }));
}

/** Triton clients name versions by integers ("1" is 1.0.0 here); names may carry `@alias`. */
export function oipVersionRef(params: { model: string; version?: string }): {
	model: string;
	version?: string;
} {
	const { model, version } = params;
	if (version === undefined) return { model };
	return { model, version: /^\d+$/.test(version) ? `${version}.0.0` : version };
}
