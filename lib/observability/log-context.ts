/**
 * JSON log lines (LOG_FORMAT=json) that say which request wrote them: the request id, trace id
 * and tenant of the call being served, kept in an AsyncLocalStorage by a broker middleware (and
 * by the gateway around each HTTP request), and the node that wrote the line. Lines written
 * outside any request carry the same keys, null. Text logs install none of it.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { Context, Middleware } from "moleculer";
import { otelTraceId } from "./trace-context";

export interface LogFields {
	requestId: string | null;
	traceId: string | null;
	tenant: string | null;
}

const NO_REQUEST: LogFields = { requestId: null, traceId: null, tenant: null };
const current = new AsyncLocalStorage<LogFields>();

/** Runs `fn` with `fields` on every line it logs, across its awaits. */
export function withLogFields<T>(fields: LogFields, fn: () => T): T {
	return current.run(fields, fn);
}

/** The fields of a call: its meta's request id and tenant, its trace id (Moleculer's requestID). */
export function logFieldsOf(ctx: Context): LogFields {
	const meta = (ctx.meta ?? {}) as { requestId?: unknown; tenant?: unknown };
	return {
		requestId: typeof meta.requestId === "string" ? meta.requestId : null,
		traceId: typeof ctx.requestID === "string" ? otelTraceId(ctx.requestID) : null,
		tenant: typeof meta.tenant === "string" ? meta.tenant : null,
	};
}

/** Every local action and event handler runs with its call's fields. */
export function logContextMiddleware(): Middleware {
	const wrap = (handler: (ctx: Context) => unknown) =>
		function withCallFields(ctx: Context): unknown {
			return current.run(logFieldsOf(ctx), handler, ctx);
		};
	return {
		name: "LogContext",
		localAction: wrap,
		localEvent: wrap,
	} as unknown as Middleware;
}

interface LoggerBindings {
	nodeID?: string;
	ns?: string;
	mod?: string;
	svc?: string;
}

/**
 * Moleculer's formatter for JSON lines: time, level, message, node, module and the request's
 * fields. `printArgs` is the logger's own printing of objects and errors.
 */
export function jsonLogFormatter(
	type: string,
	args: unknown[],
	bindings: LoggerBindings | undefined,
	{ printArgs }: { printArgs: (args: unknown[]) => unknown[] },
): string[] {
	const fields = current.getStore() ?? NO_REQUEST;
	return [
		JSON.stringify({
			time: new Date().toISOString(),
			level: type,
			msg: printArgs(args).join(" "),
			node: bindings?.nodeID ?? null,
			module: bindings?.svc ?? bindings?.mod ?? null,
			requestId: fields.requestId,
			traceId: fields.traceId,
			tenant: fields.tenant,
		}),
	];
}

/** Whether a broker's logger option is the JSON one moleculer.config.ts sets for LOG_FORMAT=json. */
export function writesJsonLogs(logger: unknown): boolean {
	const options = (logger as { options?: { formatter?: unknown } } | null)?.options;
	return options?.formatter === jsonLogFormatter;
}
