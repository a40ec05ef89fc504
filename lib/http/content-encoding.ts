/**
 * Compressed request bodies and responses (HTTP `Content-Encoding` / `Accept-Encoding`): gzip
 * and deflate, as Triton's clients send and ask for them (tritonclient's
 * `request_compression_algorithm` / `response_compression_algorithm`).
 *
 * A body is inflated as it streams in, and the size limit counts the inflated bytes: a small
 * gzip bomb answers 413 once its output passes the limit, and the inflater is stopped there
 * (nothing more is inflated, the rest of the upload is read away unparsed). A declared
 * Content-Length past the limit answers 413 before anything is read. An encoding other than
 * gzip, deflate or identity answers 415.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { Transform, type Readable } from "node:stream";
import * as zlib from "node:zlib";
import { Errors } from "moleculer";
import { InvalidInputError, RequestTooLargeError } from "../errors";
import { readRequestBody, type BodyReadOptions } from "./request-body";

export type BodyEncoding = "gzip" | "deflate";

/**
 * Where the gateway's body guard (body-guard.ts) lets the reader of a compressed body count
 * the bytes it inflates against the caller's in-flight budget: the guard counted only the
 * bytes sent. `take` answers the refusal (429 or 503) past a budget, else null.
 */
export const INFLATED_BUDGET = Symbol("modelfleet.inflatedBudget");

export interface InflatedBudget {
	take(bytes: number): Error | null;
}

/**
 * The body's encoding: null when there is none (or `identity`).
 * @throws 415 (`encoding.unsupported`, phrased by the error writer) for any other
 */
export function bodyEncoding(header: string | string[] | undefined): BodyEncoding | null {
	if (header === undefined) return null;
	const value = (Array.isArray(header) ? header.join(",") : header).trim().toLowerCase();
	if (value === "" || value === "identity") return null;
	if (value === "gzip" || value === "x-gzip") return "gzip";
	if (value === "deflate") return "deflate";
	throw new Errors.MoleculerClientError(value.slice(0, 64), 415, "encoding.unsupported");
}

/**
 * `readRequestBody` for a body that may be compressed: inflated on the way, under the same
 * limit (of inflated bytes); 400 for a body that is not valid in its encoding.
 */
export async function readEncodedBody(
	stream: Readable,
	encoding: BodyEncoding | null,
	options: BodyReadOptions,
): Promise<Buffer> {
	if (encoding === null) return readRequestBody(stream, options);
	// The declared (compressed) length past the limit is refused at once, as an uncompressed one is.
	const declared = options.contentLength?.trim();
	if (
		declared !== undefined &&
		/^\d{1,15}$/.test(declared) &&
		Number(declared) > options.limitBytes
	)
		throw new RequestTooLargeError(
			"The request body",
			Number(declared),
			options.limitBytes,
			options.limitSetting,
			"bytes",
		);
	// HTTP's deflate is the zlib format (RFC 1950), as tritonclient and zlib.compress write it.
	const inflater = encoding === "gzip" ? zlib.createGunzip() : zlib.createInflate();
	let failure: Error | null = null;
	inflater.on("error", err => {
		failure = err;
	});
	// A client that stops sending ends the inflated stream too (a pipe does not carry errors).
	let aborted = false;
	const abort = () => {
		if (stream.readableEnded || inflater.destroyed) return;
		aborted = true;
		// With an error, so the reader waiting on the inflater hears of it.
		inflater.destroy(new Error("the client stopped sending"));
	};
	stream.once("aborted", abort);
	stream.once("error", abort);
	stream.once("close", abort);
	// Inflated bytes count against the caller's in-flight budget as they come (when the gateway
	// guards the request): many bombs at once are refused like many large bodies.
	const budget = (stream as Readable & { [INFLATED_BUDGET]?: InflatedBudget })[INFLATED_BUDGET];
	let refusal: Error | null = null;
	const output: Readable =
		budget === undefined
			? inflater
			: inflater.pipe(
					new Transform({
						transform(chunk: Buffer, _encoding, done) {
							refusal = budget.take(chunk.length);
							done(refusal, refusal === null ? chunk : undefined);
						},
					}),
				);
	if (output !== inflater) inflater.once("error", err => (output as Transform).destroy(err));
	stream.pipe(inflater);
	try {
		return await readRequestBody(output, { ...options, contentLength: undefined });
	} catch (err) {
		stream.unpipe(inflater);
		inflater.destroy();
		if (output !== inflater) output.destroy();
		if (!stream.readableEnded) stream.resume();
		if (refusal !== null) throw refusal;
		if (aborted)
			throw new InvalidInputError("The request body could not be read to its end.", {
				where: "body",
			});
		if (failure !== null)
			throw new InvalidInputError(
				`The request body is not valid ${encoding} data (${(failure as Error).message}); send it ${encoding}-compressed whole, or uncompressed.`,
				{ where: "body" },
			);
		throw err;
	} finally {
		stream.off("aborted", abort);
		stream.off("error", abort);
		stream.off("close", abort);
	}
}

/** Responses smaller than this go uncompressed: compressing them saves nothing worth the time. */
export const MIN_COMPRESSED_BYTES = 1024;

/**
 * The encoding to answer in, from `Accept-Encoding`: gzip when accepted (or `*`), else
 * deflate; null when neither is (or the header is absent). `q=0` refuses a coding.
 */
export function responseEncoding(header: string | string[] | undefined): BodyEncoding | null {
	if (header === undefined) return null;
	const accepted = new Map<string, number>();
	for (const part of (Array.isArray(header) ? header.join(",") : header).split(",")) {
		const [name, ...params] = part.trim().toLowerCase().split(";");
		if (name === "") continue;
		const q = params
			.map(p => /^\s*q\s*=\s*([\d.]+)\s*$/.exec(p)?.[1])
			.find(v => v !== undefined);
		accepted.set(name, q === undefined ? 1 : Number(q));
	}
	const weight = (name: string) => accepted.get(name) ?? accepted.get("*") ?? 0;
	if (weight("gzip") > 0 || weight("x-gzip") > 0) return "gzip";
	if (weight("deflate") > 0) return "deflate";
	return null;
}

/** `body` compressed in the encoding, off the event loop (zlib's thread pool). */
export function compress(body: Buffer, encoding: BodyEncoding): Promise<Buffer> {
	return new Promise((resolve, reject) => {
		const done = (err: Error | null, out: Buffer) => (err ? reject(err) : resolve(out));
		if (encoding === "gzip") zlib.gzip(body, done);
		else zlib.deflate(body, done);
	});
}

/**
 * Writes a whole answer (status, headers, body), compressed when the request accepts gzip or
 * deflate and the body is at least MIN_COMPRESSED_BYTES; `Vary: Accept-Encoding` either way.
 * A text body that goes uncompressed is handed to Node as the string it is: Node then writes it
 * with the head in one buffer and one `write`, where a Buffer body costs its own allocation and
 * a `writev` of two (about 5 µs of a batch-1 answer's CPU).
 */
export async function writeBody(
	req: IncomingMessage,
	res: ServerResponse,
	status: number,
	headers: Record<string, string>,
	body: Buffer | string,
): Promise<void> {
	const length = typeof body === "string" ? Buffer.byteLength(body) : body.length;
	const encoding =
		length >= MIN_COMPRESSED_BYTES ? responseEncoding(req.headers["accept-encoding"]) : null;
	const out =
		encoding === null
			? body
			: await compress(typeof body === "string" ? Buffer.from(body) : body, encoding);
	const head: Record<string, string> = { ...headers, Vary: "Accept-Encoding" };
	if (encoding !== null) head["Content-Encoding"] = encoding;
	head["Content-Length"] = String(out === body ? length : out.length);
	res.writeHead(status, head);
	res.end(out);
}

/**
 * A route middleware (moleculer-web `use`) that compresses the whole answers written after it
 * with `res.end(body)`, as `writeBody` does. Answers already under way (streams, events, a
 * head written before the body) and those with an encoding of their own go as they are.
 */
export function compressAnswers(
	req: IncomingMessage,
	res: ServerResponse,
	next: (err?: unknown) => void,
): void {
	const encoding = responseEncoding(req.headers["accept-encoding"]);
	if (encoding === null) {
		next();
		return;
	}
	const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
	(res as { end: (...args: unknown[]) => ServerResponse }).end = (...args: unknown[]) => {
		const [chunk, chunkEncoding] = args;
		if (
			(typeof chunk !== "string" && !Buffer.isBuffer(chunk)) ||
			res.headersSent ||
			res.getHeader("Content-Encoding") !== undefined ||
			// A range of a file is that file's bytes: compressed, Content-Range would lie.
			res.getHeader("Content-Range") !== undefined ||
			res.statusCode === 206 ||
			res.statusCode === 204 ||
			res.statusCode === 304
		)
			return end(...args);
		const body = Buffer.isBuffer(chunk)
			? chunk
			: Buffer.from(
					chunk,
					typeof chunkEncoding === "string" ? (chunkEncoding as BufferEncoding) : "utf8",
				);
		if (body.length < MIN_COMPRESSED_BYTES) return end(...args);
		try {
			res.setHeader("Vary", "Accept-Encoding");
		} catch {
			// The head is written already (writeHead): the answer goes as it is.
			return end(...args);
		}
		compress(body, encoding).then(
			out => {
				res.setHeader("Content-Encoding", encoding);
				res.setHeader("Content-Length", out.length);
				end(out);
			},
			() => end(body),
		);
		return res;
	};
	next();
}
