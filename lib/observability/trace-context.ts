/**
 * The ids a request carries through the fleet: the W3C trace context of `traceparent`
 * (https://www.w3.org/TR/trace-context/), the request id of `X-Request-ID`, and how Moleculer's
 * own ids (a context's `requestID` is its trace id, its `id` its span id, both UUIDs by default)
 * map to OpenTelemetry's 32- and 16-hex-digit ids, the same way on every node, so a parent
 * span id written on one node names the span another node exported.
 */
import { createHash, randomBytes, randomUUID } from "node:crypto";

/** The parent of a request's first span, from the caller's `traceparent`. */
export interface RemoteParent {
	/** 32 lowercase hex digits, not all zero. */
	traceId: string;
	/** 16 lowercase hex digits, not all zero. */
	spanId: string;
	/** The caller's sampled flag. */
	sampled: boolean;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const TRACE_ID = /^[0-9a-f]{32}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The parent a `traceparent` header names, or null when it is absent or invalid (the spec says
 * to start a new trace then, not to fail the request).
 */
export function parseTraceparent(header: string | string[] | undefined): RemoteParent | null {
	if (typeof header !== "string" || header.length > 512) return null;
	const match = TRACEPARENT.exec(header.trim().toLowerCase());
	if (!match) return null;
	const [, version, traceId, spanId, flags, rest] = match;
	// Version ff is forbidden; version 00 has nothing after the flags.
	if (version === "ff" || (version === "00" && rest !== undefined)) return null;
	if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return null;
	return { traceId, spanId, sampled: (parseInt(flags, 16) & 1) === 1 };
}

/** `traceparent` for a span: what an outgoing call (or a test) sends. */
export function formatTraceparent(traceId: string, spanId: string, sampled = true): string {
	return `00-${traceId}-${spanId}-${sampled ? "01" : "00"}`;
}

/** A fresh trace id. */
export function newTraceId(): string {
	return randomBytes(16).toString("hex");
}

/** At most this many characters of a client's X-Request-ID are kept; longer ones are replaced. */
export const MAX_REQUEST_ID_LENGTH = 128;
const SANE_REQUEST_ID = /^[A-Za-z0-9._:@/+=-]+$/;

/**
 * The request id of an answer: the client's `X-Request-ID` when it is a sane token (letters,
 * digits and `._:@/+=-`, at most 128 characters: it goes into logs and headers as it is),
 * else a new UUID.
 */
export function requestIdOf(header: string | string[] | undefined): string {
	if (
		typeof header === "string" &&
		header.length > 0 &&
		header.length <= MAX_REQUEST_ID_LENGTH &&
		SANE_REQUEST_ID.test(header)
	)
		return header;
	return randomUUID();
}

function digest(text: string, hexDigits: number): string {
	return createHash("sha256").update(text).digest("hex").slice(0, hexDigits);
}

/** OpenTelemetry's trace id for a Moleculer trace id (a context's requestID). */
export function otelTraceId(moleculerId: string): string {
	if (TRACE_ID.test(moleculerId)) return moleculerId;
	if (UUID.test(moleculerId)) return moleculerId.replace(/-/g, "");
	return digest(moleculerId, 32);
}

/** OpenTelemetry's span id for a Moleculer span id (a context's id, or a remote parent's span id). */
export function otelSpanId(moleculerId: string): string {
	if (SPAN_ID.test(moleculerId)) return moleculerId;
	// A UUID's first 16 digits: random but for the version digit, and the same on every node.
	if (UUID.test(moleculerId)) return moleculerId.replace(/-/g, "").slice(0, 16);
	return digest(moleculerId, 16);
}
