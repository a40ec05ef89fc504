/**
 * The predictor's counting hook — the one place a prediction is metered: `predictor.infer`'s
 * before/after/error hooks count each request (tenant, model, version, rows, failure, runtime on
 * CPU or GPU, tensor bytes in and out) into the node's meter, flushed by the usage-meter mixin.
 * A coalesced `inferMany` counts each of its requests the same way. The hooks wrap the access middleware (Moleculer's ActionHook wraps user middlewares): a call it
 * refuses has no verified tenant and is not counted.
 */
import type { Context, ServiceSchema } from "moleculer";
import { scopeOf, type RequestMeta } from "../lib/accounts/access";
import { requestBytes, responseBytes } from "../lib/metering/tensor-bytes";
import type { Settled } from "../lib/fleet/call-coalescer";
import type { InferResult } from "../lib/predictor/served-model";
import { withoutModel } from "../lib/routing/infer-coalescing";
import { usageMeterMixin, type UsageMeterService } from "./usage-meter.mixin";

/** Where the hook keeps the request's start on the call's locals. */
const STARTED = "meterStartedAt";
/** Where the predictor notes the version a request resolved to (a failed one is counted under it). */
const RESOLVED = "meterResolved";

/** Notes on the call which model and version it resolved to (PredictorDeps.resolved). */
export function meteredVersion(ctx: Context, version: { model: string; version: string }): void {
	(ctx.locals as Locals)[RESOLVED] = { model: version.model, version: version.version };
}

interface InferParams {
	model: string;
	version?: string;
}

interface InferManyParams extends InferParams {
	requests: Array<Record<string, unknown>>;
}

type Locals = Record<string, unknown>;

export function predictionMeterMixin(flushMs: number): Partial<ServiceSchema> {
	// Long because it is a mixin schema (a declaration, not a procedure): the count and the
	// before/after/error hooks of infer and inferMany, each a few lines.
	/** Counts one request of `ctx` (`infer`'s own, or one of `inferMany`'s). */
	const count = (
		service: UsageMeterService,
		ctx: Context<unknown, RequestMeta>,
		request: Record<string, unknown>,
		result: InferResult | null,
	): void => {
		let tenant: string;
		try {
			tenant = scopeOf(ctx).tenantId;
		} catch {
			return;
		}
		const locals = ctx.locals as Locals;
		const started = locals[STARTED] as number | undefined;
		const resolved = locals[RESOLVED] as { model: string; version: string } | undefined;
		const { model, version } = ctx.params as InferParams;
		service.meter.prediction({
			tenant,
			model: result?.modelName ?? resolved?.model ?? model,
			version: result?.modelVersion ?? resolved?.version ?? version ?? "",
			rows: result?.rows ?? 0,
			failed: result === null,
			ms: started === undefined ? 0 : performance.now() - started,
			gpu: result?.executionProvider === "cuda",
			bytesIn: requestBytes(request),
			bytesOut: result === null ? 0 : responseBytes(result.outputs),
		});
	};
	/** `infer`'s params without the model and version: the request. */
	const requestOf = (ctx: Context<InferParams>) =>
		withoutModel(ctx.params as unknown as Record<string, unknown>);
	/**
	 * Each request of a coalesced `inferMany` (lib/routing/infer-coalescing.ts) is counted as
	 * if it came alone: with its own result, or as failed.
	 */
	const countMany = (
		service: UsageMeterService,
		ctx: Context<InferManyParams, RequestMeta>,
		outcomes: readonly Settled<InferResult>[] | null,
	): void => {
		ctx.params.requests.forEach((request, i) => {
			const outcome = outcomes?.[i];
			count(service, ctx, request, outcome?.ok === true ? outcome.value : null);
		});
	};
	const start = (ctx: Context) => {
		(ctx.locals as Locals)[STARTED] = performance.now();
	};
	return {
		mixins: [usageMeterMixin({ flushMs })],
		hooks: {
			before: { infer: start, inferMany: start },
			after: {
				infer(
					this: UsageMeterService,
					ctx: Context<InferParams, RequestMeta>,
					res: InferResult,
				) {
					count(this, ctx, requestOf(ctx), res);
					return res;
				},
				inferMany(
					this: UsageMeterService,
					ctx: Context<InferManyParams, RequestMeta>,
					res: Settled<InferResult>[],
				) {
					countMany(this, ctx, res);
					return res;
				},
			},
			error: {
				infer(this: UsageMeterService, ctx: Context<InferParams, RequestMeta>, err: Error) {
					count(this, ctx, requestOf(ctx), null);
					throw err;
				},
				inferMany(
					this: UsageMeterService,
					ctx: Context<InferManyParams, RequestMeta>,
					err: Error,
				) {
					countMany(this, ctx, null);
					throw err;
				},
			},
		},
	};
}
