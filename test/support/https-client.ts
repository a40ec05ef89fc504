/**
 * Requests to a gateway serving HTTPS with a certificate of the test's own CA: Node's fetch
 * trusts only the system's CAs, so these go through `https.request` with `ca`.
 */
import * as https from "node:https";

export interface HttpsReply {
	status: number;
	headers: Record<string, string | string[] | undefined>;
	/** The body as text. */
	text: string;
	/** The body parsed as JSON (undefined when it is not JSON). */
	body: unknown;
}

export interface HttpsRequestInit {
	method?: string;
	headers?: Record<string, string>;
	/** A Buffer or string is sent as is; anything else as JSON. */
	body?: unknown;
}

/** A client of `base` (https://host:port) that trusts `ca` (PEM) and sends `key` as a bearer. */
export function httpsClient(
	base: string,
	ca: string | Buffer,
	key?: string,
): (path: string, init?: HttpsRequestInit) => Promise<HttpsReply> {
	return (path, init = {}) =>
		new Promise((resolve, reject) => {
			const raw = Buffer.isBuffer(init.body) || typeof init.body === "string";
			const payload =
				init.body === undefined
					? undefined
					: raw
						? (init.body as Buffer | string)
						: JSON.stringify(init.body);
			const request = https.request(
				`${base}${path}`,
				{
					method: init.method ?? (payload === undefined ? "GET" : "POST"),
					ca,
					headers: {
						...(key !== undefined ? { authorization: `Bearer ${key}` } : {}),
						...(payload !== undefined && !raw
							? { "content-type": "application/json" }
							: {}),
						...init.headers,
					},
				},
				response => {
					const chunks: Buffer[] = [];
					response.on("data", (chunk: Buffer) => chunks.push(chunk));
					response.on("error", reject);
					response.on("end", () => {
						const text = Buffer.concat(chunks).toString("utf8");
						let body: unknown;
						try {
							body = JSON.parse(text);
						} catch {
							body = undefined;
						}
						resolve({
							status: response.statusCode ?? 0,
							headers: response.headers,
							text,
							body,
						});
					});
				},
			);
			request.on("error", reject);
			request.end(payload);
		});
}
