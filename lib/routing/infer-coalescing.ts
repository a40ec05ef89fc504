/**
 * The gateway's side of coalescing (issue 13): concurrent `predictor.infer` calls of one caller
 * identity for the same model, version and routing key travel as one `predictor.inferMany`
 * call (lib/fleet/call-coalescer.ts), which the ModelReplica strategy sends to one replica, and
 * each caller gets its own result or error back. A lone call travels as `predictor.infer`,
 * unchanged. Infer is safe to repeat, so a group may be retried as a whole on another replica.
 */
import type { InferResult } from "../predictor/served-model";
import type { RoutingMeta } from "./traffic-middleware";
import { CallCoalescer, type CoalescerOptions, type Settled } from "../fleet/call-coalescer";

/** One infer call as the gateway makes it: the request with `model` (and `version`), the meta. */
export interface InferCall {
	params: Record<string, unknown>;
	meta: RoutingMeta;
}

/**
 * A call's answer. `R`: the result as the caller receives it (the coalescing never looks into it):
 * the predictor's `InferResult`, or what the gateway may also receive (lib/http/json-answer.ts).
 */
export interface InferAnswer<R = InferResult> {
	result: R;
	/** The node that answered (the gateway's X-Served-By header). */
	servedBy: string | null;
}

/** What `predictor.inferMany` takes. */
export interface InferManyParams {
	model: string;
	version?: string;
	requests: Array<Record<string, unknown>>;
	/** The requests' shared routing key, where they name one, for the traffic split. */
	parameters?: { routing_key: string };
}

/** An item of `predictor.inferMany`'s answer: errors as Moleculer's plain errors. */
export type InferManyOutcome<R = InferResult> =
	{ ok: true; value: R } | { ok: false; error: unknown };

export interface InferCoalescingDeps<R = InferResult> {
	/** `predictor.infer` with this request. */
	callOne(call: InferCall): Promise<InferAnswer<R>>;
	/** `predictor.inferMany`; resolves with its outcomes and the node that answered. */
	callMany(
		params: InferManyParams,
		meta: RoutingMeta,
	): Promise<{ outcomes: readonly InferManyOutcome<R>[]; servedBy: string | null }>;
	/** Turns a plain error from the answer back into an error (Moleculer's regenerator). */
	restoreError(plain: unknown, servedBy: string | null): unknown;
}

/** The routing key a request names in its `parameters`, if any. */
function requestRoutingKey(params: Record<string, unknown>): string | undefined {
	const parameters = params.parameters as { routing_key?: unknown } | undefined;
	return typeof parameters?.routing_key === "string" ? parameters.routing_key : undefined;
}

/** A request without the `model` and `version` its group carries once. */
export function withoutModel(params: Record<string, unknown>): Record<string, unknown> {
	const request: Record<string, unknown> = {};
	for (const field in params) {
		if (field !== "model" && field !== "version") request[field] = params[field];
	}
	return request;
}

/**
 * Calls that may share a group: the same signed identity (so the same tenant, role and key),
 * model, version and routing keys — everything that decides where and as whom a call runs.
 */
export function inferGroupKey(call: InferCall): string {
	const { params, meta } = call;
	return [
		meta.identity ?? "",
		String(params.model),
		typeof params.version === "string" ? params.version : "",
		meta.routingKey ?? "",
		requestRoutingKey(params) ?? "",
		meta.shadow === true ? "shadow" : "",
	].join("\u0000");
}

/** Bytes of a tensor's data as the request holds it (typed arrays, or JSON numbers ~8 bytes). */
function dataBytes(data: unknown): number {
	if (ArrayBuffer.isView(data)) return data.byteLength;
	if (Array.isArray(data)) return data.length * 8;
	return 64;
}

/** The rows and (roughly) the bytes of an infer request, for the group bounds. */
export function requestSize(params: Record<string, unknown>): { rows: number; bytes: number } {
	// A request forwarded as its JSON text (lib/http/infer-request.ts): its bytes, one row.
	if (params.json instanceof Uint8Array) return { rows: 1, bytes: params.json.byteLength };
	const inputs = params.inputs;
	if (Array.isArray(inputs)) {
		let bytes = 0;
		let rows = 1;
		for (let i = 0; i < inputs.length; i++) {
			const input = inputs[i] as { shape?: unknown; data?: unknown } | null;
			bytes += dataBytes(input?.data);
			if (i === 0 && Array.isArray(input?.shape) && typeof input.shape[0] === "number") {
				rows = Math.max(1, input.shape[0]);
			}
		}
		return { rows, bytes };
	}
	if (Array.isArray(params.instances)) {
		return { rows: Math.max(1, params.instances.length), bytes: params.instances.length * 64 };
	}
	return { rows: 1, bytes: 64 };
}

export class InferCoalescing<R = InferResult> {
	private readonly coalescer: CallCoalescer<InferCall, InferAnswer<R>>;

	constructor(options: CoalescerOptions, deps: InferCoalescingDeps<R>) {
		this.coalescer = new CallCoalescer<InferCall, InferAnswer<R>>(options, {
			one: call => deps.callOne(call),
			many: async calls => {
				const first = calls[0].params;
				const routingKey = requestRoutingKey(first);
				const params: InferManyParams = {
					model: String(first.model),
					...(typeof first.version === "string" ? { version: first.version } : {}),
					requests: calls.map(call => withoutModel(call.params)),
					...(routingKey !== undefined
						? { parameters: { routing_key: routingKey } }
						: {}),
				};
				const { outcomes, servedBy } = await deps.callMany(params, calls[0].meta);
				return outcomes.map((outcome): Settled<InferAnswer<R>> =>
					outcome.ok
						? { ok: true, value: { result: outcome.value, servedBy } }
						: { ok: false, error: deps.restoreError(outcome.error, servedBy) },
				);
			},
		});
	}

	/** One infer call, alone or with others of its group. */
	infer(params: Record<string, unknown>, meta: RoutingMeta): Promise<InferAnswer<R>> {
		const call = { params, meta };
		const { rows, bytes } = requestSize(params);
		return this.coalescer.submit(inferGroupKey(call), call, rows, bytes);
	}

	/** Calls sent and items coalesced so far. */
	stats() {
		return this.coalescer.stats();
	}
}
