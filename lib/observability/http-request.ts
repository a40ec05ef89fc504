/**
 * What the gateway notes of every HTTP request before any route answers it: its request id
 * (the client's sane `X-Request-ID`, else a new one), written on the answer whatever answers
 * it, and, when tracing is on, the caller's `traceparent`. moleculer-web's root call and the
 * direct infer route read them back here to start the request's trace under that parent.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, OutgoingHttpHeader, ServerResponse } from "node:http";
import { parseTraceparent, requestIdOf, type RemoteParent } from "./trace-context";

export const REQUEST_ID_HEADER = "X-Request-ID";

export interface ObservedRequest {
	requestId: string;
	/** The request's trace id (32 hex digits): the caller's, else a new one. */
	traceId: string;
	/** The caller's span, when the request has a valid `traceparent`. */
	parent: RemoteParent | null;
}

const observed = new WeakMap<IncomingMessage, ObservedRequest>();

/**
 * Notes the request and writes its X-Request-ID on the answer. The header is pinned: moleculer-web
 * writes its context's requestID there, which here is the trace id, not the request id.
 */
export function observeRequest(req: IncomingMessage, res: ServerResponse): ObservedRequest {
	const parent = parseTraceparent(req.headers.traceparent);
	const request: ObservedRequest = {
		requestId: requestIdOf(req.headers["x-request-id"]),
		traceId: parent?.traceId ?? randomUUID().replace(/-/g, ""),
		parent,
	};
	observed.set(req, request);
	res.setHeader(REQUEST_ID_HEADER, request.requestId);
	const setHeader = res.setHeader;
	res.setHeader = function pinnedRequestId(
		this: ServerResponse,
		name: string,
		value: OutgoingHttpHeader,
	) {
		if (name.toLowerCase() === "x-request-id") return this;
		return setHeader.call(this, name, value);
	} as ServerResponse["setHeader"];
	return request;
}

/** What observeRequest noted of `req`, if it saw it. */
export function observedOf(req: IncomingMessage): ObservedRequest | undefined {
	return observed.get(req);
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
 * The options of the root call of a request: its trace id as Moleculer's requestID (the
 * caller's, else a new one), the caller's span as parent, the request id in meta.
 */
export function rootCallOptions(
	request: ObservedRequest,
): ParentCallOptions & { meta: { requestId: string } } {
	const { parent } = request;
	return {
		requestID: request.traceId,
		...(parent
			? {
					parentSpan: {
						id: parent.spanId,
						traceID: parent.traceId,
						sampled: parent.sampled,
					},
				}
			: {}),
		meta: { requestId: request.requestId },
	};
}

/**
 * Which trace a call made for a request belongs to, by its meta object: the direct infer
 * route's meta goes through call coalescing (lib/routing/infer-coalescing.ts) as it is, so the
 * call that finally leaves the gateway finds its request's trace here.
 */
const callParents = new WeakMap<object, ParentCallOptions>();

export function setCallParent(meta: object, options: ParentCallOptions): void {
	callParents.set(meta, options);
}

export function callParentOf(meta: object): ParentCallOptions | undefined {
	return callParents.get(meta);
}

/**
 * moleculer-web's `rootCallOptions` setting: the root call of a request joins the trace the edge
 * noted (the caller's `traceparent`, else a new one) and carries the request id in meta.
 */
export function applyRootCallOptions(options: Record<string, unknown>, req: IncomingMessage): void {
	const request = observed.get(req);
	if (request) Object.assign(options, rootCallOptions(request));
}
