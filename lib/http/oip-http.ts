/** HTTP details of the Open Inference Protocol routes: error bodies and Triton's version names. */
import type { IncomingMessage, ServerResponse } from "node:http";
import { writeError, type ErrorWriterThis } from "./error-response";

/** Open Inference Protocol errors: `{"error": "…"}` with the status of the error table. */
export function oipError(
	this: ErrorWriterThis,
	_req: IncomingMessage,
	res: ServerResponse,
	err: unknown,
): void {
	writeError.call(this, res, err, response => ({ error: response.body.message }));
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
