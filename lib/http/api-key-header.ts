import type { IncomingHttpHeaders } from "node:http";

/** The API key of a request: `Authorization: Bearer <key>` or `x-api-key: <key>`; null when absent. */
export function apiKeyFromHeaders(headers: IncomingHttpHeaders): string | null {
	const authorization = headers.authorization;
	if (typeof authorization === "string") {
		const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
		if (match) return match[1];
	}
	const header = headers["x-api-key"];
	const value = Array.isArray(header) ? header[0] : header;
	return typeof value === "string" && value.trim() !== "" ? value.trim() : null;
}
