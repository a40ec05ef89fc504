/** How an error becomes an HTTP response: the status code and a JSON body a client can act on. */
export interface ErrorResponse {
	status: number;
	body: { name: string; type: string; message: string; code: number; data?: unknown };
}

interface ErrorLike {
	name?: unknown;
	message?: unknown;
	code?: unknown;
	type?: unknown;
	data?: unknown;
}

/**
 * Client mistakes keep their status, type, message and data; Moleculer's parameter validation
 * (422) answers 400 as DESIGN.md's error table says. Anything else is a 500 whose message does
 * not leak internals.
 */
export function toErrorResponse(err: unknown): ErrorResponse {
	const e = (err ?? {}) as ErrorLike;
	const code = typeof e.code === "number" && Number.isInteger(e.code) ? e.code : 500;
	const known = code >= 400 && code < 600 && typeof e.type === "string" && e.type !== "";
	if (!known) {
		return {
			status: 500,
			body: {
				name: "InternalError",
				type: "INTERNAL_ERROR",
				message: "Internal server error; the node's log has the details.",
				code: 500,
			},
		};
	}
	const status = e.type === "VALIDATION_ERROR" ? 400 : code;
	return {
		status,
		body: {
			name: typeof e.name === "string" ? e.name : "Error",
			type: e.type as string,
			message: typeof e.message === "string" ? e.message : "",
			code: status,
			...(e.data !== undefined ? { data: e.data } : {}),
		},
	};
}
