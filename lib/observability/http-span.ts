/**
 * The gateway's span of a request it answers itself (the direct infer route), where no
 * moleculer-web action makes one: a child of the caller's `traceparent`, if any, and the parent
 * of the prediction call it makes.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Span, Tracer } from "moleculer";
import type { ObservedRequest } from "./http-request";

/** The gateway's span of a direct infer request: a child of the caller's `traceparent`, if any. */
export function directInferSpan(
	tracer: Tracer,
	req: IncomingMessage,
	model: string,
	service: string,
	observed: ObservedRequest,
): Span {
	return tracer.startSpan(`POST /v2/models/${model}/infer`, {
		type: "http",
		...(observed.traceId !== null ? { traceID: observed.traceId } : {}),
		...(observed.parent
			? { parentID: observed.parent.spanId, sampled: observed.parent.sampled }
			: {}),
		service,
		tags: {
			http: { method: req.method, url: req.url },
			requestId: observed.requestId,
		},
	});
}

export function finishHttpSpan(span: Span, res: ServerResponse): void {
	span.addTags({ http: { statusCode: res.statusCode } });
	if (res.statusCode >= 500) span.setError(new Error(`HTTP ${res.statusCode}`));
	span.finish();
}
