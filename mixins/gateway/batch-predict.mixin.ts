/**
 * Batch predictions on the gateway: `POST /api/v1/models/{model}[/versions/{version}]/batch-predict`
 * with CSV or NDJSON rows as the body, NDJSON lines out, one per row, as the rows stream through
 * the predictor in chunks (lib/http/batch-predict/).
 */
import { randomUUID } from "node:crypto";
import { Readable } from "node:stream";
import type { ServiceSchema } from "moleculer";
import { requires, scopeOf } from "../../lib/accounts/access";
import { SERVICE } from "../../lib/fleet/node-role";
import {
	DEFAULT_CHUNK_ROWS,
	inferParams,
	rowChunks,
	type ChunkPayload,
} from "../../lib/http/batch-predict/batch-chunk";
import { batchPredictLines } from "../../lib/http/batch-predict/batch-predict";
import { csvChunks } from "../../lib/http/batch-predict/csv-chunks";
import {
	BATCH_FORMATS,
	batchFormat,
	ndjsonRows,
	tabularInput,
	type BatchFormat,
} from "../../lib/http/batch-predict/input-rows";
import { DEFAULT_MAX_JSON_DEPTH } from "../../lib/json-policy";
import type { InferResult } from "../../lib/predictor/served-model";
import type { VersionView } from "../../lib/registry/version-store";
import { fleetViewOf } from "../../lib/routing/fleet-view";
import type { CallerMethods } from "./caller.mixin";
import {
	gatewayMixin,
	modelVersionParams,
	requestStream,
	type HttpContext,
	type PredictParams,
} from "./http-context";

export interface BatchPredictOptions {
	/** Deepest nesting of an NDJSON line. Default 64. */
	maxJsonDepth?: number;
	/** Batch prediction: rows per predictor call (default 512) and calls in flight (default 4). */
	batchPredict?: { chunkRows?: number; concurrency?: number };
}

interface BatchParams {
	model: string;
	version?: string;
	format?: BatchFormat;
	chunkRows?: number;
}

export function batchPredictMixin(options: BatchPredictOptions): Partial<ServiceSchema> {
	// Long because it is a mixin schema (a declaration, not a procedure): the batchPredict
	// action's params rule and its handler, with the limits it closes over.
	const maxJsonDepth = options.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH;

	return gatewayMixin<CallerMethods>({
		actions: {
			/**
			 * NDJSON lines out, one per row, as the rows stream through the predictor in chunks. The
			 * version and (for CSV) the header are checked before the answer starts.
			 */
			batchPredict: requires("predict", {
				params: {
					...modelVersionParams(),
					format: { type: "enum", values: [...BATCH_FORMATS], optional: true },
					chunkRows: {
						type: "number",
						integer: true,
						min: 1,
						max: 10_000,
						optional: true,
						convert: true,
					},
				},
				async handler(ctx: HttpContext<BatchParams>): Promise<Readable> {
					const { model, version, chunkRows } = ctx.params;
					const format = batchFormat(ctx.params.format, ctx.meta.batchContentType);
					const served = await ctx.call<VersionView, { model: string; version?: string }>(
						`${SERVICE.registry}.versions.get`,
						{ model, ...(version !== undefined ? { version } : {}) },
					);
					const input = tabularInput(served.schema, served.ref);
					const body = requestStream(ctx);
					const size = chunkRows ?? options.batchPredict?.chunkRows ?? DEFAULT_CHUNK_ROWS;
					// A shadow version's mirrored call may read a chunk after its answer: then no chunk
					// buffer is filled again (only calls without a version are mirrored).
					const shadowed =
						version === undefined &&
						!model.includes("@") &&
						(fleetViewOf(this.broker).deployment(ctx.meta.tenant ?? "", model)
							?.shadow ?? null) !== null;
					const chunks =
						format === "csv"
							? await csvChunks(body, input, size, { reuseBuffers: !shadowed })
							: rowChunks(ndjsonRows(body, maxJsonDepth), size);
					// Chunk calls outlive this action's own deadline: each has the broker's timeout.
					// One routing key for the batch, so a split deployment answers it with one version.
					// A batch may outlast a signed identity: each chunk's call is signed afresh.
					const scope = scopeOf(ctx);
					const meta = {
						tenant: scope.tenantId,
						role: scope.role,
						keyId: scope.keyId,
						routingKey: ctx.meta.routingKey ?? `batch-${randomUUID()}`,
					};
					const identity = {
						tenant: scope.tenantId,
						role: scope.role,
						keyId: scope.keyId,
					};
					const infer = (payload: ChunkPayload): Promise<InferResult> =>
						this.broker.call<InferResult, PredictParams>(
							`${SERVICE.predictor}.infer`,
							{
								model,
								...(version !== undefined ? { version } : {}),
								...inferParams(payload),
							},
							{
								meta: {
									...meta,
									identity: (this as unknown as CallerMethods).signIdentity(
										identity,
									),
								},
							},
						);
					ctx.meta.$responseType = "application/x-ndjson";
					const concurrency = options.batchPredict?.concurrency;
					return Readable.from(
						batchPredictLines(
							chunks,
							infer,
							concurrency !== undefined ? { concurrency } : {},
						),
						{ objectMode: false, highWaterMark: 64 * 1024 },
					);
				},
			}),
		},
	});
}
