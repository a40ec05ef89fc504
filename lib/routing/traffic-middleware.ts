/**
 * Traffic for deployed models, on the calling node: a `predictor.infer` call that names no
 * version goes to a version of the model's deployment chosen by its traffic split (sticky per
 * routing key when the caller sends one), a copy goes to its shadow version (answer dropped),
 * and calls in flight to each node are counted for the routing strategy.
 */
import type { CallingOptions, Context, Middleware, ServiceBroker } from "moleculer";
import type { RequestMeta } from "../accounts/access";
import type { TrafficKind } from "../metrics/node-metrics";
import { parseVersionRef } from "../registry/version-ref";
import { fleetViewOf } from "./fleet-view";
import { pickTarget } from "./traffic-split";

/** Routing-relevant meta a caller may set (the gateway sets it from a header). */
export interface RoutingMeta extends RequestMeta {
	/** Requests with the same key get the same version of a split deployment. */
	routingKey?: string;
	/** Set on mirrored (shadow) calls. */
	shadow?: boolean;
	/** Set when a split sent the call to a version other than the deployment's main one. */
	canary?: boolean;
	/** The HTTP request's X-Request-ID, for the log lines of every node it reaches (lib/observability). */
	requestId?: string;
}

/** Which traffic a served call was, for the `traffic` label of the inference metrics. */
export function trafficKindOf(meta: unknown): TrafficKind {
	const routing = (meta ?? {}) as RoutingMeta;
	if (routing.shadow === true) return "shadow";
	return routing.canary === true ? "canary" : "live";
}

/**
 * The deployment's main version: the one with the largest weight (the first of equals). A call
 * sent to any other version of the split is canary traffic.
 */
function mainVersion(traffic: readonly { version: string; weight: number }[]): string | undefined {
	let main: { version: string; weight: number } | undefined;
	for (const entry of traffic) if (main === undefined || entry.weight > main.weight) main = entry;
	return main?.version;
}

interface InferCallParams {
	model?: unknown;
	version?: unknown;
	parameters?: { routing_key?: unknown };
	[key: string]: unknown;
}

type CallFn = (action: string, params?: unknown, opts?: CallingOptions) => Promise<unknown>;

/** `tenant/model` of a prediction call, for the callers' side of the autoscaling signal. */
function callerModelKey(ctx: Context): string | undefined {
	const tenant = (ctx.meta as RoutingMeta | undefined)?.tenant;
	const model = (ctx.params as InferCallParams | undefined)?.model;
	if (typeof tenant !== "string" || typeof model !== "string") return undefined;
	return `${tenant}/${parseVersionRef(model).model}`;
}

/**
 * On the prediction actions `actions` (`predictor.infer`, and `predictor.inferMany`, whose
 * requests share one model, version and routing key).
 */
export function trafficMiddleware(...actions: string[]): Middleware {
	const routed = new Set(actions);
	let broker: ServiceBroker;
	return {
		name: "Traffic",
		created(b: ServiceBroker) {
			broker = b;
		},
		call(next: CallFn): CallFn {
			return (actionName, params, opts) => {
				if (!routed.has(actionName) || params === null || typeof params !== "object") {
					return next(actionName, params, opts);
				}
				const request = params as InferCallParams;
				const parentMeta = (opts as { parentCtx?: Context } | undefined)?.parentCtx?.meta;
				const own = (opts?.meta ?? {}) as RoutingMeta;
				const meta = { ...(parentMeta as RoutingMeta), ...own };
				if (typeof meta.tenant !== "string" || typeof request.model !== "string") {
					return next(actionName, params, opts);
				}
				// A call's traffic kind is its own, never its parent's: Moleculer merges an answered
				// call's meta back into the caller's context, so after one mirrored call the parent
				// holds `shadow: true` — which must neither skip the split nor label the next call.
				const as = (canary: boolean, shadow: boolean): CallingOptions => ({
					...opts,
					meta: { ...own, canary, shadow },
				});
				const mirroring = own.shadow === true;
				if (request.version !== undefined || request.model.includes("@") || mirroring) {
					return next(actionName, params, as(false, mirroring));
				}
				const view = fleetViewOf(broker);
				const ref = parseVersionRef(request.model);
				const deployment = view.deployment(meta.tenant, ref.model);
				if (!deployment || deployment.traffic.length === 0)
					return next(actionName, params, as(false, false));
				const key =
					typeof request.parameters?.routing_key === "string"
						? request.parameters.routing_key
						: meta.routingKey;
				const version = pickTarget(deployment.traffic, key);
				if (deployment.shadow !== null && deployment.shadow !== version) {
					const mirrored = { ...request, version: deployment.shadow };
					next(actionName, mirrored, as(false, true)).catch(() => {
						// A shadow's answers and failures are its own metrics' business, never the caller's.
					});
				}
				const canary = version !== mainVersion(deployment.traffic);
				return next(actionName, { ...request, version }, as(canary, false));
			};
		},
		remoteAction(next: (ctx: Context) => Promise<unknown>, definition: { name?: string }) {
			if (definition.name === undefined || !routed.has(definition.name)) return next;
			return (ctx: Context) => {
				const view = fleetViewOf(broker);
				const nodeID = ctx.nodeID ?? "";
				const model = callerModelKey(ctx);
				view.begin(nodeID, model);
				return next(ctx).finally(() => view.end(nodeID, model));
			};
		},
	} as unknown as Middleware; // Moleculer's Middleware typing has no `call` hook signature.
}
