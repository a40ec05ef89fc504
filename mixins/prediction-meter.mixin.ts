/**
 * The predictor's counting hook — the one place a prediction is metered: `predictor.infer`'s
 * before/after/error hooks count each request (tenant, model, version, rows, failure, runtime on
 * CPU or GPU, tensor bytes in and out) into the node's meter, flushed by the usage-meter mixin.
 * The hooks wrap the access middleware (Moleculer's ActionHook wraps user middlewares): a call it
 * refuses has no verified tenant and is not counted.
 */
import type { Context, ServiceSchema } from "moleculer";
import { scopeOf, type RequestMeta } from "../lib/accounts/access";
import { requestBytes, responseBytes } from "../lib/metering/tensor-bytes";
import type { InferResult } from "../lib/predictor/served-model";
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

type Locals = Record<string, unknown>;

export function predictionMeterMixin(flushMs: number): Partial<ServiceSchema> {
	const count = (
		service: UsageMeterService,
		ctx: Context<InferParams, RequestMeta>,
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
		const { model, version, ...request } = ctx.params;
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
	return {
		mixins: [usageMeterMixin({ flushMs })],
		hooks: {
			before: {
				infer(ctx: Context) {
					(ctx.locals as Locals)[STARTED] = performance.now();
				},
			},
			after: {
				infer(
					this: UsageMeterService,
					ctx: Context<InferParams, RequestMeta>,
					res: InferResult,
				) {
					count(this, ctx, res);
					return res;
				},
			},
			error: {
				infer(this: UsageMeterService, ctx: Context<InferParams, RequestMeta>, err: Error) {
					count(this, ctx, null);
					throw err;
				},
			},
		},
	};
}
