/**
 * JSON request bodies under the decoding policy (lib/http/json-policy.ts): the REST routes'
 * body parser (in place of moleculer-web's), and a small optional body read from a stream
 * (routes whose body parsing is their own): empty is allowed and answers undefined, as
 * Triton's repository requests may have no body.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Readable } from "node:stream";
import { Errors } from "moleculer";
import { InvalidInputError } from "../errors";
import { parseClientJson } from "../json-policy";
import { bodyEncoding, readEncodedBody, type BodyEncoding } from "./content-encoding";
import type { BodyReadOptions } from "./request-body";

/**
 * @throws RequestTooLargeError (413) over the limit, InvalidInputError (400) for a body that
 *   is not JSON, JsonTooDeepError / InvalidTextError (400) for one the policy refuses
 */
export async function readOptionalJson(
	stream: Readable,
	options: BodyReadOptions & { maxDepth?: number; contentEncoding?: string | string[] },
): Promise<unknown> {
	const body = await readEncodedBody(stream, bodyEncoding(options.contentEncoding), options);
	if (body.toString("latin1").trim() === "") return undefined;
	return parseClientJson(body, { maxDepth: options.maxDepth, expected: "send a JSON object." });
}

export interface JsonBodyParserOptions {
	/** Most bytes a body may hold; more answers 413. */
	limitBytes: number;
	/** The limit's name in the 413. */
	limitSetting: string;
	/** Deepest nesting allowed. */
	maxDepth: number;
	/** Whether the parser reads this request's body (a JSON type, not an upload). */
	applies(req: IncomingMessage): boolean;
}

type BodyRequest = IncomingMessage & { body?: unknown };

/** The body's charset when its Content-Type names one other than UTF-8. */
function otherCharset(contentType: string | undefined): string | null {
	const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? "")?.[1];
	return charset === undefined || /^utf-?8$/i.test(charset) ? null : charset;
}

/**
 * A moleculer-web route middleware (`use`) that reads a JSON body into `req.body` under the
 * policy: an object or an array (an empty body is `{}`); 400 for anything else, 413 over the
 * limit (of inflated bytes, for a gzip or deflate body), 415 for another Content-Encoding or
 * a charset other than UTF-8.
 */
export function jsonBodyParser(
	options: JsonBodyParserOptions,
): (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void {
	return (req, _res, next) => {
		const target = req as BodyRequest;
		if (target.body !== undefined || !options.applies(req)) {
			next();
			return;
		}
		let encoding: BodyEncoding | null;
		try {
			// gzip and deflate are inflated under the limit; any other answers 415.
			encoding = bodyEncoding(req.headers["content-encoding"]);
		} catch (err) {
			next(err);
			return;
		}
		if (otherCharset(req.headers["content-type"]) !== null) {
			next(new Errors.MoleculerClientError("charset", 415, "charset.unsupported"));
			return;
		}
		readEncodedBody(req, encoding, {
			limitBytes: options.limitBytes,
			limitSetting: options.limitSetting,
			contentLength: req.headers["content-length"],
		}).then(
			body => {
				try {
					if (body.length === 0) {
						target.body = {};
					} else {
						const value = parseClientJson(body, {
							maxDepth: options.maxDepth,
							expected: "send a JSON object.",
						});
						if (typeof value !== "object" || value === null)
							throw new InvalidInputError(
								"The request body must be a JSON object; send a JSON object.",
								{ where: "body" },
							);
						target.body = value;
					}
				} catch (err) {
					next(err);
					return;
				}
				next();
			},
			(err: unknown) => next(err),
		);
	};
}
