/**
 * What the predictor service's mixins share with it: the node's predictor, the fleet as one
 * call sees it, the node's blobs. Getters, because the service makes them in `created`.
 */
import type { Context } from "moleculer";
import type { LocalBlobs } from "../../lib/artifacts/local-blobs";
import type { Predictor, PredictorDeps } from "../../lib/predictor/predictor";

export interface PredictorParts {
	predictor(): Predictor;
	/** The fleet, as seen from one call (the caller's meta travels with it). */
	deps(ctx: Context): PredictorDeps;
	blobs(): LocalBlobs;
	/** The deadline of a call that sets no timeout, ms. */
	defaultTimeoutMs: number;
}

/** The deadline of a call: its timeout, else the default; undefined when there is none. */
export function deadlineOf(ctx: Context, parts: PredictorParts): number | undefined {
	const timeout = ctx.options?.timeout ?? parts.defaultTimeoutMs;
	return timeout > 0 ? Date.now() + timeout : undefined;
}
