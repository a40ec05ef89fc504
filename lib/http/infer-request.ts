/**
 * An Open Inference Protocol infer exchange as both ways of serving it share it: the body read
 * (JSON, or a JSON header and binary tensors when `Inference-Header-Content-Length` is given),
 * and the answer's parts from the predictor's result.
 */
import type { Readable } from "node:stream";
import { InvalidInputError } from "../errors";
import type { InferenceResponseParts } from "../inference/response-encoder";
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
 */
export async function readInferBody(
	stream: Readable,
	headers: InferBodyHeaders,
	maxBodyBytes: number,
	maxJsonDepth: number = DEFAULT_MAX_JSON_DEPTH,
): Promise<Record<string, unknown>> {
	const headerLength = parseHeaderLength(headers.headerLength);
	const body = await readEncodedBody(stream, bodyEncoding(headers.contentEncoding), {
		limitBytes: maxBodyBytes,
		limitSetting: "MODELFLEET_MAX_BODY_BYTES",
		contentLength: headers.contentLength,
		// Binary tensors become views of the body where they are aligned; JSON is only read as text.
		...(headerLength !== null ? { alignAt: headerLength } : {}),
	});
	const request = parseInferBody(body, headerLength, maxJsonDepth);
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
