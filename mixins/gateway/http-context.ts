/**
 * What the gateway's mixins share: the meta moleculer-web's routes and the actions pass each
 * other, the request body of a `stream:` action, the parameter rules of a model reference, and
 * the headers of a prediction.
 */
import type { Readable } from "node:stream";
import type { Context, ServiceSchema, ServiceSettingSchema } from "moleculer";
import { InvalidInputError } from "../../lib/errors";
import type { RoutingMeta } from "../../lib/routing/traffic-middleware";

export interface HttpMeta extends RoutingMeta {
	$statusCode?: number;
	$responseType?: string;
	$responseHeaders?: Record<string, string>;
	/** Set by the predictor that answered (merged back from its call). */
	servedBy?: string;
	/** The Content-Type of an upload's body: raw, or multipart/form-data. */
	uploadContentType?: string;
	/** The HTTP headers an Open Inference Protocol infer body is read by, copied before the call. */
	oipBody?: {
		headerLength?: string | string[];
		contentLength?: string;
		contentEncoding?: string | string[];
	};
	/** The Content-Type of a batch prediction's body, copied before the call. */
	batchContentType?: string;
	/** A download's conditional and range headers, copied before the call. */
	download?: { range?: string; ifRange?: string; ifNoneMatch?: string };
}

export type HttpContext<P = unknown> = Context<P, HttpMeta>;

/** A client's sticky key for traffic splits (same key, same version). */
export const ROUTING_KEY_HEADER = "x-modelfleet-routing-key";
/** The id of a prediction (the body's `id`), which feedback names. */
export const PREDICTION_ID_HEADER = "x-prediction-id";
/** Which node answered a prediction: for operators following a request. */
export const SERVED_BY_HEADER = "x-modelfleet-node";

/** The parameters of a route naming a model and, optionally, its version (fresh per action). */
export function modelVersionParams(): Record<"model" | "version", Record<string, unknown>> {
	return {
		model: { type: "string", min: 1, max: 256 },
		version: { type: "string", optional: true, max: 128 },
	};
}

export type PredictParams = Record<string, unknown> & { model: string; version?: string };

/** The request body of a `stream:` route. */
export function requestStream(ctx: Context): Readable {
	const stream = (ctx as unknown as { stream?: Readable | null }).stream;
	if (!stream) throw new InvalidInputError("Send the file as the request body.");
	return stream;
}

/**
 * A gateway mixin whose handlers see methods `M` (its own and other mixins') on `this`, typed as
 * Moleculer's `mixins` list takes it.
 */
export function gatewayMixin<M extends object>(
	schema: Partial<ServiceSchema<ServiceSettingSchema, M>>,
): Partial<ServiceSchema> {
	return schema as unknown as Partial<ServiceSchema>;
}
