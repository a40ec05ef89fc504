/**
 * What the gateway notes of every HTTP request before any route answers it: its request id
 * (the client's sane `X-Request-ID`, else a new one), written on the answer whatever answers
 * it, and, when tracing is on, the caller's `traceparent`. moleculer-web's root call and the
 * direct infer route read them back here to start the request's trace under that parent.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, OutgoingHttpHeader, ServerResponse } from "node:http";
import { withLogFields } from "./log-context";
import { parseTraceparent, requestIdOf, type RemoteParent } from "./trace-context";

export const REQUEST_ID_HEADER = "X-Request-ID";

export interface ObservedRequest {
	requestId: string;
	/** The request's trace id (32 hex digits): the caller's, a new one, or null: its first call's. */
	traceId: string | null;
	/** The caller's span, when the request has a valid `traceparent`. */
	parent: RemoteParent | null;
}

/**
 * Where a request's notes live: a property of the request itself rather than a WeakMap entry,
 * whose insertion (and the collector's ephemeron work for each of thousands of requests a
 * second) cost more than the rest of the notes.
 */
const OBSERVED = Symbol("modelfleet.observedRequest");
type Observed = IncomingMessage & { [OBSERVED]?: ObservedRequest };
/** The request id an answer is to say, on the answer itself (for writers that only have it). */
const ANSWER_REQUEST_ID = Symbol("modelfleet.answerRequestId");
type Answer = ServerResponse & { [ANSWER_REQUEST_ID]?: string };

/**
 * Notes the request, and the request id its answer is to say. The header itself is written by
 * what answers: `writeRequestId` before a route or an error writer answers, or the direct infer
 * route among the headers of its `writeHead` — a header set beforehand would send Node's
 * `writeHead` down its slow path (every header through `setHeader`), ≈ 1 µs of each answer.
 * `mintTraceId`: give a request without `traceparent` a trace id now (for JSON log lines
 * written before its first call); otherwise its first call's id becomes its trace id, at no cost.
 */
export function observeRequest(
	req: IncomingMessage,
	res: ServerResponse,
	mintTraceId: boolean,
): ObservedRequest {
	const header = req.headers.traceparent;
	const parent = header === undefined ? null : parseTraceparent(header);
	const request: ObservedRequest = {
		requestId: requestIdOf(req.headers["x-request-id"]),
		traceId: parent?.traceId ?? (mintTraceId ? randomUUID().replace(/-/g, "") : null),
		parent,
	};
	(req as Observed)[OBSERVED] = request;
	(res as Answer)[ANSWER_REQUEST_ID] = request.requestId;
	return request;
}

/**
 * Writes the noted request id (observeRequest) as the answer's X-Request-ID, unless the head is
 * sent or says one already; nothing for an answer the edge did not note.
 */
export function writeRequestId(res: ServerResponse): void {
	const requestId = (res as Answer)[ANSWER_REQUEST_ID];
	if (requestId === undefined || res.headersSent || res.hasHeader(REQUEST_ID_HEADER)) return;
	res.setHeader(REQUEST_ID_HEADER, requestId);
}

/**
 * Keeps the request id on an answer moleculer-web writes: it sets X-Request-ID to its context's
 * requestID, which here is the trace id. (The direct infer route needs no such guard.)
 */
export function pinRequestId(res: ServerResponse): void {
	const setHeader = res.setHeader;
	res.setHeader = function pinnedRequestId(
		this: ServerResponse,
		name: string,
		value: OutgoingHttpHeader,
	) {
		if (name.length === 12 && name.toLowerCase() === "x-request-id") return this;
		return setHeader.call(this, name, value);
	} as ServerResponse["setHeader"];
}

/** What observeRequest noted of `req`, if it saw it. */
export function observedOf(req: IncomingMessage): ObservedRequest | undefined {
	return (req as Observed)[OBSERVED];
}

/** The parent span of a Moleculer call: the options `Context.create` reads (`parentSpan`). */
export interface CallParent {
	id: string;
	traceID: string;
	sampled: boolean;
}

/** The call options that make a call a child of `parent` (Moleculer's `Context.create`). */
export interface ParentCallOptions {
	requestID: string;
	parentSpan?: CallParent;
}

/**
 * The call options that start a request's trace: its trace id as Moleculer's requestID (the
 * caller's, or one minted at the edge), the caller's span as parent; null when there is
 * neither (the first call's own id then starts the trace).
 */
export function parentCallOptions(request: ObservedRequest): Partial<ParentCallOptions> | null {
	const { parent, traceId } = request;
	if (parent)
		return {
			requestID: parent.traceId,
			parentSpan: { id: parent.spanId, traceID: parent.traceId, sampled: parent.sampled },
		};
	return traceId !== null ? { requestID: traceId } : null;
}

/** The options of the root call of a request: its trace (parentCallOptions), the request id in meta. */
export function rootCallOptions(
	request: ObservedRequest,
): Partial<ParentCallOptions> & { meta: { requestId: string } } {
	return { ...parentCallOptions(request), meta: { requestId: request.requestId } };
}

/**
 * Which trace a call made for a request belongs to, by its meta object: the direct infer
 * route's meta goes through call coalescing (lib/routing/infer-coalescing.ts) as it is, so the
 * call that finally leaves the gateway finds its request's trace here.
 */
const callParents = new WeakMap<object, Partial<ParentCallOptions>>();

export function setCallParent(meta: object, options: Partial<ParentCallOptions>): void {
	callParents.set(meta, options);
}

export function callParentOf(meta: object): Partial<ParentCallOptions> | undefined {
	return callParents.get(meta);
}

/**
 * moleculer-web's `rootCallOptions` setting: the root call of a request joins the trace the edge
 * noted (the caller's `traceparent`, else a new one) and carries the request id in meta.
 */
export function applyRootCallOptions(options: Record<string, unknown>, req: IncomingMessage): void {
	const request = (req as Observed)[OBSERVED];
	if (request) Object.assign(options, rootCallOptions(request));
}

/**
 * The gateway's request listener around `serve`: notes each request (observeRequest) and, for
 * JSON logs, runs it with its ids on the lines the gateway writes about it.
 */
export function observingRequests(
	serve: (req: IncomingMessage, res: ServerResponse) => void,
	jsonLogs: boolean,
): (req: IncomingMessage, res: ServerResponse) => void {
	if (!jsonLogs)
		return (req, res) => {
			observeRequest(req, res, false);
			serve(req, res);
		};
	return (req, res) => {
		const { requestId, traceId } = observeRequest(req, res, true);
		withLogFields({ requestId, traceId, tenant: null }, () => serve(req, res));
	};
}

/**
 * The request id and trace of a call that arrives by another protocol (gRPC metadata): the
 * caller's sane request id or a new one, and the caller's `traceparent` as the parent of the
 * calls made for it (null without one: the first call starts the trace).
 */
export function observedCall(
	traceparent: string | undefined,
	requestId: string | undefined,
): { requestId: string; call: Partial<ParentCallOptions> | null } {
	const parent = traceparent === undefined ? null : parseTraceparent(traceparent);
	const request: ObservedRequest = { requestId: requestIdOf(requestId), traceId: null, parent };
	return { requestId: request.requestId, call: parentCallOptions(request) };
}
