/**
 * The Open Inference Protocol infer route, served straight from the HTTP server: it is the
 * hottest request of the gateway, and moleculer-web's generic pipeline (route and alias
 * matching, middlewares, an action of its own per request, response encoding) cost about as
 * much as the prediction itself. It does what that route does, in the same order: the caller
 * check both share (lib/http/caller.ts: key, rate limit, role; 401 / 429 / 403; the identity
 * then signed for the services), the body (JSON,
 * or the binary tensor extension, either of them gzip or deflate; 400 / 413 / 415), then `predictor.infer` for the caller's tenant,
 * and the answer as JSON or binary — errors as `{"error": …}` with the same statuses. Every
 * other request goes to moleculer-web.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Identity } from "../accounts/accounts-store";
import { JsonAnswer, type ReceivedInferResult } from "./json-answer";
import type { RoutingMeta } from "../routing/traffic-middleware";
import { INFERENCE_HEADER_LENGTH, binaryOutputChooser, encodeBinaryResponse } from "./oip-binary";
import { inferResponseParts, inferResponseText, readInferBody } from "./infer-request";
import { writeBody } from "./content-encoding";
import { oipVersionRef } from "./oip-http";
import {
	REQUEST_ID_HEADER,
	setCallParent,
	type ParentCallOptions,
} from "../observability/http-request";

const JSON_CONTENT_TYPE = "application/json; charset=utf-8";

/** `POST /v2/models/{model}[/versions/{version}]/infer`, with its path parameters. */
const INFER_PATH = /^\/v2\/models\/([^/?]+)(?:\/versions\/([^/?]+))?\/infer\/?(?:\?(.*))?$/;

/** The `version` of a query string (the first one), decoded; undefined when absent or empty. */
function queryVersion(query: string | undefined): string | undefined {
	if (query === undefined) return undefined;
	const version = new URLSearchParams(query).get("version");
	return version === null || version === "" ? undefined : version;
}

export interface InferRoute {
	model: string;
	version?: string;
}

/** The model and version an infer request names, or null for any other request. */
export function matchInferRoute(
	method: string | undefined,
	url: string | undefined,
): InferRoute | null {
	if (method !== "POST" || url === undefined) return null;
	const match = INFER_PATH.exec(url);
	if (!match) return null;
	try {
		const model = decodeURIComponent(match[1]);
		// The path's version, else the query's (`?version=`), as moleculer-web's routes take it.
		const version =
			match[2] !== undefined ? decodeURIComponent(match[2]) : queryVersion(match[3]);
		if (
			model.length === 0 ||
			model.length > 256 ||
			(version !== undefined && version.length > 128)
		) {
			return null; // moleculer-web's route answers it, with its validation error
		}
		return version !== undefined ? { model, version } : { model };
	} catch {
		return null;
	}
}

export interface InferRouteDeps {
	/**
	 * The caller check of every keyed route, with the `predict` permission: the identity, or a
	 * rejection with 401, 403 or 429 (lib/http/caller.ts).
	 */
	checkCaller(req: IncomingMessage, res: ServerResponse): Promise<Identity>;
	/** The identity signed, as the services verify it (ctx.meta.identity). */
	sign(identity: Identity): string;
	/** Calls `predictor.infer` for the caller; resolves with the result and the node that answered. */
	infer(
		params: Record<string, unknown>,
		meta: RoutingMeta,
	): Promise<{ result: ReceivedInferResult; servedBy: string | null }>;
	/** Writes an error as the OIP routes do. */
	writeError(res: ServerResponse, err: unknown): void;
	maxBodyBytes: number;
	/** Deepest nesting of the JSON body (or the binary extension's JSON header). */
	maxJsonDepth: number;
	/** JSON bodies up to this many bytes go to the predictor unparsed (readInferBody). */
	forwardJsonUpTo?: number;
	routingKeyHeader: string;
	servedByHeader: string;
}

/** The request's ids (lib/observability/http-request.ts): its request id and the trace its call joins. */
export interface InferObservation {
	requestId: string;
	/** The trace its call joins; null: the call starts one. */
	call: Partial<ParentCallOptions> | null;
}

/** Serves one infer request; never throws (errors become answers). */
export async function serveInfer(
	req: IncomingMessage,
	res: ServerResponse,
	route: InferRoute,
	deps: InferRouteDeps,
	observation?: InferObservation,
): Promise<void> {
	try {
		const identity = await deps.checkCaller(req, res);
		const request = await readInferBody(
			req,
			{
				headerLength: req.headers[INFERENCE_HEADER_LENGTH],
				contentLength: req.headers["content-length"],
				contentEncoding: req.headers["content-encoding"],
			},
			deps.maxBodyBytes,
			deps.maxJsonDepth,
			deps.forwardJsonUpTo,
		);
		const routingKey = req.headers[deps.routingKeyHeader];
		const meta: RoutingMeta = {
			tenant: identity.tenant,
			role: identity.role,
			keyId: identity.keyId,
			identity: deps.sign(identity),
			...(typeof routingKey === "string" && routingKey.length > 0
				? { routingKey: routingKey.slice(0, 256) }
				: {}),
			...(observation ? { requestId: observation.requestId } : {}),
		};
		if (observation?.call) setCallParent(meta, observation.call);
		const { result, servedBy } = await deps.infer(
			{ ...request, ...oipVersionRef(route) },
			meta,
		);
		// One headers object, filled in the order they are written (writeBody adds its own),
		// the request id among them: set on its own before, it would cost writeHead its fast path.
		const headers: Record<string, string> = {};
		if (observation) headers[REQUEST_ID_HEADER] = observation.requestId;
		if (servedBy) headers[deps.servedByHeader] = servedBy;
		if (result instanceof JsonAnswer) {
			// A forwarded request's answer, already the JSON text written below (lib/http/json-answer.ts).
			headers["Content-Type"] = JSON_CONTENT_TYPE;
			await writeBody(req, res, 200, headers, result.bytes);
			return;
		}
		const parts = inferResponseParts(result, false);
		const binary = encodeBinaryResponse(parts, binaryOutputChooser(request));
		// Compressed when the client accepts gzip or deflate (and the answer is worth it).
		if (binary !== null) {
			headers["Content-Type"] = "application/octet-stream";
			headers["Inference-Header-Content-Length"] = String(binary.headerLength);
			await writeBody(req, res, 200, headers, binary.body);
			return;
		}
		headers["Content-Type"] = JSON_CONTENT_TYPE;
		await writeBody(req, res, 200, headers, inferResponseText(result));
	} catch (err) {
		// A refused request may still be sending its body: read it away so the connection stays usable.
		if (!req.readableEnded) req.resume();
		deps.writeError(res, err);
	}
}
