/**
 * An Open Inference Protocol infer exchange as both ways of serving it share it: the body read
 * (JSON, or a JSON header and binary tensors when `Inference-Header-Content-Length` is given),
 * and the answer's parts from the predictor's result.
 */
import type { Readable } from "node:stream";
import { InvalidInputError } from "../errors";
import {
	encodeInferenceResponse,
	type InferenceResponseParts,
} from "../inference/response-encoder";
import type { InferResult } from "../predictor/served-model";
import { DEFAULT_MAX_JSON_DEPTH } from "../json-policy";
import { parseHeaderLength, parseInferBody } from "./oip-binary";
import { bodyEncoding, readEncodedBody } from "./content-encoding";

export interface InferBodyHeaders {
	headerLength?: string | string[];
	contentLength?: string;
	/** `Content-Encoding`: gzip and deflate bodies are inflated (the limit counts inflated bytes). */
	contentEncoding?: string | string[];
}

/**
 * Reads and parses an infer body under the size limit and the JSON decoding policy (depth,
 * NUL, UTF-8), inflating a gzip or deflate body (the limit counts inflated bytes; 415 for
 * another encoding); 400 unless it is a JSON object.
 *
 * With `forwardJsonUpTo`, a JSON body (not the binary extension) of at most that many bytes
 * that holds nothing the caller reads (FORWARD_SPOILERS) is not parsed: it comes back as a forwarded request, `{ json: <its bytes> }`, which the predictor
 * parses under the same policy (parseForwardedRequest). A gateway saves parsing a body it
 * would only encode again for the bus; the worker parses it instead of decoding it.
 */
export async function readInferBody(
	stream: Readable,
	headers: InferBodyHeaders,
	maxBodyBytes: number,
	maxJsonDepth: number = DEFAULT_MAX_JSON_DEPTH,
	forwardJsonUpTo?: number,
): Promise<Record<string, unknown>> {
	const headerLength = parseHeaderLength(headers.headerLength);
	const body = await readEncodedBody(stream, bodyEncoding(headers.contentEncoding), {
		limitBytes: maxBodyBytes,
		limitSetting: "MODELFLEET_MAX_BODY_BYTES",
		contentLength: headers.contentLength,
		// Binary tensors become views of the body where they are aligned; JSON is only read as text.
		...(headerLength !== null ? { alignAt: headerLength } : {}),
	});
	if (
		headerLength === null &&
		forwardJsonUpTo !== undefined &&
		body.length <= forwardJsonUpTo &&
		!FORWARD_SPOILERS.some(word => body.includes(word))
	)
		return { [FORWARDED_JSON]: body };
	return asInferRequest(parseInferBody(body, headerLength, maxJsonDepth));
}

/**
 * Words in a body that keep it from being forwarded unparsed, because the gateway reads what
 * they name: the routing key (traffic split, coalescing), binary outputs (the answer's form),
 * and `model` or `version` fields (which would merge with the route's). Found anywhere, even
 * inside a string, they only cost the body its shortcut.
 */
const FORWARD_SPOILERS = ["routing_key", "binary_data", '"model"', '"version"'];

/** The field of a forwarded request: the request's JSON text as bytes, its only field. */
export const FORWARDED_JSON = "json";

/**
 * The JSON bytes of a request forwarded unparsed (readInferBody's `forwardJsonUpTo`), or null
 * for any other request. Only bytes count: a client's own JSON can hold a `json` field, but
 * never bytes.
 */
export function forwardedJson(request: Record<string, unknown>): Uint8Array | null {
	const json = request[FORWARDED_JSON];
	if (!(json instanceof Uint8Array)) return null;
	for (const field in request) if (field !== FORWARDED_JSON) return null;
	return json;
}

/** Parses a forwarded request's JSON as the gateway would have: the same policy and errors. */
export function parseForwardedRequest(
	json: Uint8Array,
	maxJsonDepth: number = DEFAULT_MAX_JSON_DEPTH,
): Record<string, unknown> {
	const body = Buffer.isBuffer(json)
		? json
		: Buffer.from(json.buffer, json.byteOffset, json.byteLength);
	return asInferRequest(parseInferBody(body, null, maxJsonDepth));
}

function asInferRequest(request: unknown): Record<string, unknown> {
	if (typeof request !== "object" || request === null || Array.isArray(request))
		throw new InvalidInputError(
			"The request body must be a JSON object: an inference request with inputs.",
			{ where: "body" },
		);
	return request as Record<string, unknown>;
}

/**
 * The parts of the answer; `parameters` say which execution provider ran (and, with `steps`,
 * the pipeline steps).
 */
export function inferResponseParts(result: InferResult, steps: boolean): InferenceResponseParts {
	return {
		modelName: result.modelName,
		modelVersion: result.modelVersion,
		id: result.id,
		parameters: {
			...(result.parameters ?? {}),
			execution_provider: result.executionProvider,
			...(steps ? { pipeline_steps: result.steps } : {}),
		},
		outputs: result.outputs,
	};
}

/** The JSON answer to an infer request whose outputs are all answered as JSON. */
export function inferResponseText(result: InferResult): string {
	return JSON.stringify(encodeInferenceResponse(inferResponseParts(result, false)));
}
