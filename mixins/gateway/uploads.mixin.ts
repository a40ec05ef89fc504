/**
 * Uploads through the gateway, streamed to the artifacts service part by part (bounded memory):
 * artifacts, model files imported as versions, and datasets checked while they stream
 * (lib/artifacts/artifact-upload.ts, lib/http/dataset-upload.ts). A body is raw, or the file
 * part of a `multipart/form-data` form.
 */
import * as fs from "node:fs";
import type { Readable } from "node:stream";
import type { Context, ServiceSchema } from "moleculer";
import { requires, scopeOf } from "../../lib/accounts/access";
import type { TenantIdentity } from "../../lib/accounts/fleet-trust";
import type { StoredArtifact } from "../../lib/artifacts/artifact-protocol";
import { uploadArtifact } from "../../lib/artifacts/artifact-upload";
import { SERVICE } from "../../lib/fleet/node-role";
import { receiveDataset } from "../../lib/http/dataset-upload";
import { firstFilePart, isMultipart } from "../../lib/http/multipart-file";
import { MODEL_FORMATS } from "../../lib/model-spec/model-schema";
import { IDEMPOTENCY_KEY_RULE } from "../../lib/model-spec/version-idempotency";
import { VERSION_BUMPS } from "../../lib/registry/version-number";
import type { CallerMethods } from "./caller.mixin";
import { gatewayMixin, requestStream, type HttpContext } from "./http-context";

export interface UploadsOptions {
	/** Most bytes a dataset upload may have; more answers 413. Default 100 MiB. */
	maxDatasetBytes?: number;
	/**
	 * Where dataset uploads spill while they are checked (MODELFLEET_DATA_DIR/spill on nodes):
	 * emptied when the service starts, so an upload cut short by a crash leaves nothing for
	 * long. Default: a folder of the OS temp directory, not emptied.
	 */
	spillDir?: string;
	/** Encrypt dataset spill files under a throwaway key (encryption at rest is on). Default false. */
	sealSpills?: boolean;
}

export const DEFAULT_MAX_DATASET_BYTES = 100 * 1024 ** 2;

/**
 * An upload's bytes: the raw body, or the file part of a `multipart/form-data` body (its file
 * name fills in a missing `fileName`).
 */
async function uploadSource(
	ctx: HttpContext,
): Promise<{ file: Readable; filename: string | null }> {
	const body = requestStream(ctx);
	const type = ctx.meta.uploadContentType;
	if (!isMultipart(type)) return { file: body, filename: null };
	const part = await firstFilePart(body, type as string);
	return { file: part.file, filename: part.filename || null };
}

/**
 * Calls actions for the caller of `ctx` (its tenant and role travel in the meta), each call with
 * the caller's identity signed afresh: later calls of a long upload may start after the
 * request's own identity expired.
 */
function freshCallerOf(
	ctx: Context,
	sign: (identity: TenantIdentity) => string,
): (action: string, params: object, options?: object) => Promise<unknown> {
	const scope = scopeOf(ctx);
	const identity = { tenant: scope.tenantId, role: scope.role, keyId: scope.keyId };
	return (action, params, options) =>
		ctx.call(action, params, {
			...options,
			meta: {
				...(options as { meta?: object } | undefined)?.meta,
				identity: sign(identity),
			},
		});
}

export function uploadsMixin(options: UploadsOptions): Partial<ServiceSchema> {
	// Long because it is a mixin schema (a declaration, not a procedure): the uploadDataset,
	// uploadArtifact and uploadVersion actions, each a short handler.
	const maxDatasetBytes = options.maxDatasetBytes ?? DEFAULT_MAX_DATASET_BYTES;

	return gatewayMixin<CallerMethods>({
		async started() {
			// Spill files of uploads a crash cut short: nothing else uses this folder.
			if (options.spillDir === undefined) return;
			await fs.promises.rm(options.spillDir, { recursive: true, force: true });
			await fs.promises.mkdir(options.spillDir, { recursive: true });
		},

		actions: {
			/**
			 * `POST /api/v1/datasets?name=&format=csv|ndjson&labelColumn=` with the file as the body:
			 * parsed and checked while it streams, stored only when it is valid → 201 with the new
			 * dataset version and its validation report; 400 naming the row and column otherwise.
			 */
			uploadDataset: requires("train", {
				params: {
					name: { type: "string", pattern: /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/ },
					format: {
						type: "enum",
						values: ["csv", "ndjson"],
						optional: true,
						default: "csv",
					},
					labelColumn: { type: "string", optional: true, min: 1, max: 256 },
				},
				async handler(
					ctx: HttpContext<{
						name: string;
						format: "csv" | "ndjson";
						labelColumn?: string;
					}>,
				): Promise<unknown> {
					const received = await receiveDataset(
						(await uploadSource(ctx)).file,
						{
							format: ctx.params.format,
							labelColumn: ctx.params.labelColumn ?? null,
							maxBytes: maxDatasetBytes,
							...(options.spillDir !== undefined
								? { spillDir: options.spillDir }
								: {}),
							sealSpill: options.sealSpills ?? false,
						},
						freshCallerOf(ctx, (this as unknown as CallerMethods).signIdentity),
					);
					const dataset = await freshCallerOf(
						ctx,
						(this as unknown as CallerMethods).signIdentity,
					)(`${SERVICE.registry}.datasets.create`, {
						name: ctx.params.name,
						...received,
					});
					ctx.meta.$statusCode = 201;
					return dataset;
				},
			}),

			/** `POST /api/v1/artifacts` with the file as the body → `{sha256, size, created}`. */
			uploadArtifact: requires("models.write", {
				async handler(ctx: HttpContext): Promise<StoredArtifact> {
					const stored = await uploadArtifact(
						freshCallerOf(ctx, (this as unknown as CallerMethods).signIdentity),
						(await uploadSource(ctx)).file,
					);
					ctx.meta.$statusCode = stored.created ? 201 : 200;
					return stored;
				},
			}),

			/**
			 * `POST /api/v1/models/{model}/versions/upload?format=&version=|bump=&fileName=` with the
			 * model file as the body: stores it, then imports it as a new version (schema from the file).
			 */
			uploadVersion: requires("models.write", {
				params: {
					model: { type: "string", max: 256 },
					format: { type: "enum", values: [...MODEL_FORMATS], optional: true },
					version: { type: "string", optional: true, max: 128 },
					bump: { type: "enum", values: [...VERSION_BUMPS], optional: true },
					fileName: { type: "string", optional: true, max: 256 },
					description: { type: "string", optional: true, max: 4096 },
					state: {
						type: "enum",
						values: ["Draft", "Trained", "Validated"],
						optional: true,
					},
					/** The Idempotency-Key header (lib/http/idempotency-key-header.ts). */
					idempotencyKey: IDEMPOTENCY_KEY_RULE,
				},
				async handler(
					ctx: HttpContext<Record<string, string | undefined>>,
				): Promise<unknown> {
					const { file, filename } = await uploadSource(ctx);
					const call = freshCallerOf(
						ctx,
						(this as unknown as CallerMethods).signIdentity,
					);
					const stored = await uploadArtifact(call, file);
					const version = await call(`${SERVICE.registry}.versions.import`, {
						...(filename !== null ? { fileName: filename } : {}),
						...ctx.params,
						artifact: stored.sha256,
					});
					ctx.meta.$statusCode = 201;
					return version;
				},
			}),
		},
	});
}
