/**
 * What the gateway answered when it refused a call: the HTTP status and the stable `type`,
 * `message` and `data` of its error body (docs/http-api.md#errors). A network failure or an
 * answer that is not our error body still becomes one, with type `NETWORK_ERROR` or
 * `UNEXPECTED_RESPONSE`, so callers handle a single error class.
 */
export class ModelfleetApiError extends Error {
	override readonly name = "ModelfleetApiError";
	/**
	 * Set when a version create failed without saying whether it was carried out (no answer,
	 * an answer cut off, a 5xx such as a gateway timeout): the key it was sent with. The same
	 * call sent again with this key answers the version the first made, if it made one, rather
	 * than making a second.
	 */
	idempotencyKey?: string;

	constructor(
		/** The HTTP status; 0 when no answer came. */
		readonly status: number,
		/** The stable error type, e.g. `NOT_FOUND`, `UNAUTHENTICATED`, `VALIDATION_ERROR`. */
		readonly type: string,
		message: string,
		/** The error body's `data` (the fields of a validation error, a quota's limits). */
		readonly data?: unknown,
	) {
		super(message);
	}
}

interface ErrorBody {
	type?: unknown;
	message?: unknown;
	data?: unknown;
}

/** Maps a refused answer (status and the text of its body) to a ModelfleetApiError. */
export function apiErrorFrom(status: number, bodyText: string): ModelfleetApiError {
	let body: ErrorBody | undefined;
	try {
		const parsed: unknown = JSON.parse(bodyText);
		if (parsed !== null && typeof parsed === "object") body = parsed as ErrorBody;
	} catch {
		// not JSON: a proxy's page or a cut-off answer, reported as it is below
	}
	if (body && typeof body.message === "string") {
		const type = typeof body.type === "string" && body.type ? body.type : `HTTP_${status}`;
		return new ModelfleetApiError(status, type, body.message, body.data);
	}
	const excerpt = bodyText.trim().slice(0, 200);
	return new ModelfleetApiError(
		status,
		"UNEXPECTED_RESPONSE",
		`The server answered ${status}${excerpt ? `: ${excerpt}` : " with an empty body"}`,
	);
}

/**
 * Whether a failed call may still have been carried out: a 4xx is a refusal, while no answer
 * (status 0), an answer cut off or a 5xx (a timeout, a control node restarting) leaves it open.
 */
export function outcomeUnknown(err: ModelfleetApiError): boolean {
	return err.status < 400 || err.status >= 500;
}
