/**
 * The registry's versions: create (from stored artifacts), import (from a model file: its
 * schema, format and details read from it), get, files, list, update and lifecycle
 * transitions. Every change is audited in its own transaction and announced by an event after
 * it commits; a transition to Deployed or Retired announces that too.
 */
import type { Readable } from "node:stream";
import type { ServiceSchema } from "moleculer";
import { requires, scopeOf, type Scope } from "../../lib/accounts/access";
import { requireArtifacts } from "../../lib/artifacts/artifact-check";
import { uploadArtifact } from "../../lib/artifacts/artifact-upload";
import { audited } from "../../lib/audit/audited";
import { InvalidInputError } from "../../lib/errors";
import { IMPORTANCE_METRICS } from "../../lib/explain/permutation-importance";
import { EVENTS, type VersionEvent } from "../../lib/events";
import type { VersionImportDeps } from "../../lib/registry/version-import";
import { MODEL_FORMATS } from "../../lib/model-spec/model-schema";
import {
	LABELS_RULE,
	LINEAGE_RULE,
	METRICS_RULE,
	MODEL_SCHEMA_RULE,
	PIPELINE_RULE,
	RESOURCES_RULE,
	SERVING_RULE,
	type Metric,
	type ServingSpec,
} from "../../lib/model-spec/version-spec";
import { INITIAL_STATES, VERSION_STATES, type VersionState } from "../../lib/registry/lifecycle";
import { versionArtifacts } from "../../lib/registry/version-artifacts";
import { versionFiles, type VersionFile } from "../../lib/registry/version-files";
import { importVersion, type VersionImportInput } from "../../lib/registry/version-import";
import { VERSION_BUMPS } from "../../lib/registry/version-number";
import { formatRef, parseVersionRef } from "../../lib/registry/version-ref";
import {
	replayOf,
	type CreatedVersion,
	type VersionInput,
	type VersionView,
} from "../../lib/registry/version-store";
import {
	IDEMPOTENCY_KEY_RULE,
	idempotencyOf,
	type ReplayMeta,
} from "../../lib/model-spec/version-idempotency";
import type { LocalBlobsService } from "../local-blobs.mixin";
import { PAGE_PARAMS, VERSION_REF_PARAMS, type Ctx, type PageParams } from "../params";
import { callerOf, versionQuotas, type RegistryStores, type RegistryThis } from "./registry-parts";

interface RefParams {
	model: string;
	version?: string;
}

/** A version's own fields, as `versions.create` and `versions.import` take them. */
const VERSION_FIELDS = {
	version: { type: "string", optional: true, max: 128 },
	bump: { type: "enum", values: [...VERSION_BUMPS], optional: true },
	description: { type: "string", optional: true, max: 4096 },
	pipeline: PIPELINE_RULE,
	labels: LABELS_RULE,
	metrics: METRICS_RULE,
	lineage: LINEAGE_RULE,
	resources: RESOURCES_RULE,
	serving: SERVING_RULE,
	state: { type: "enum", values: [...INITIAL_STATES], optional: true },
	/** Makes the create idempotent (lib/model-spec/version-idempotency.ts); REST: Idempotency-Key. */
	idempotencyKey: IDEMPOTENCY_KEY_RULE,
} as const;

const versionEvent = (scope: Scope, version: VersionView): VersionEvent => ({
	tenant: scope.tenantId,
	keyId: scope.keyId,
	model: version.model,
	version: version.version,
	versionId: version.id,
	state: version.state,
});

/** `versions.create`'s params: the version's fields, its model, and an idempotency key. */
type CreateParams = Omit<VersionInput, "idempotency"> & {
	model: string;
	/** Null, as for any optional field: none. */
	idempotencyKey?: string | null;
};

/** `versions.import`'s params: the file by hash (or the call's stream), and an idempotency key. */
type ImportParams = Omit<VersionImportInput, "artifact" | "idempotency"> & {
	model: string;
	artifact?: string;
	idempotencyKey?: string | null;
};

/**
 * The created version, its creation announced; a replay made nothing, so announces nothing and
 * says so to the caller in the meta (the gateway's Idempotent-Replayed).
 */
function announced(
	self: RegistryThis,
	ctx: Ctx<unknown>,
	scope: Scope,
	created: CreatedVersion,
): VersionView {
	if (created.replayed) (ctx.meta as ReplayMeta).idempotentReplay = true;
	else void self.emitEvent(EVENTS.versionCreated, versionEvent(scope, created.version), ctx);
	return created.version;
}

/** Needs the domain-events and local-blobs mixins; `importModelFile` reads an uploaded file. */
export function versionsMixin(
	{ db, versions }: RegistryStores,
	importModelFile: VersionImportDeps["importModelFile"],
): Partial<ServiceSchema> {
	// Long because it is a mixin schema (a declaration, not a procedure): the seven versions.*
	// actions, each a params rule and a short handler.
	return {
		actions: {
			"versions.create": requires("models.write", {
				params: {
					model: { type: "string", max: 256 },
					format: { type: "enum", values: [...MODEL_FORMATS] },
					artifact: {
						type: "object",
						optional: true,
						strict: true,
						props: {
							sha256: { type: "string", pattern: /^[0-9a-f]{64}$/ },
							size: { type: "number", integer: true, min: 0 },
						},
					},
					schema: MODEL_SCHEMA_RULE,
					/** What made it (a training job: the formats kept beside the served one). */
					details: { type: "object", optional: true },
					...VERSION_FIELDS,
				},
				async handler(ctx: Ctx<CreateParams>) {
					const scope = scopeOf(ctx);
					const { model, idempotencyKey, ...request } = ctx.params;
					const idempotency = idempotencyOf("versions.create", idempotencyKey, request);
					const input: VersionInput = { ...request, idempotency };
					const target = `version:${formatRef(model, input.version ?? input.bump ?? "?")}`;
					const created = await audited(
						db,
						scope,
						"versions.create",
						target,
						async () => {
							// A repeat answers what its key made: it adds nothing, so no quota applies.
							const earlier = idempotency
								? await versions.byKey(scope, model, idempotency.key)
								: null;
							if (earlier && idempotency)
								return replayOf(earlier, idempotency, model);
							// A version may name only blobs of its own tenant (another's answers 404).
							await requireArtifacts(callerOf(ctx), versionArtifacts(input));
							await versionQuotas(
								this as unknown as RegistryThis,
								ctx,
								db,
								input.artifact?.size ?? 0,
							);
							return versions.createOrReplay(scope, model, input);
						},
					);
					return announced(this as unknown as RegistryThis, ctx, scope, created);
				},
			}),

			/**
			 * A version from a model file: the file's schema, format and details are read from it
			 * (ONNX, TF.js tar, XGBoost JSON; pickles refused). The file is either already stored
			 * (`artifact`: its sha256, after an upload to artifacts) or the call's stream.
			 */
			"versions.import": requires("models.write", {
				params: {
					model: { type: "string", max: 256 },
					artifact: { type: "string", pattern: /^[0-9a-f]{64}$/, optional: true },
					fileName: { type: "string", optional: true, max: 256 },
					format: { type: "enum", values: [...MODEL_FORMATS], optional: true },
					schema: { ...MODEL_SCHEMA_RULE, optional: true },
					...VERSION_FIELDS,
				},
				async handler(ctx: Ctx<ImportParams>) {
					const scope = scopeOf(ctx);
					const { model, artifact, idempotencyKey, ...input } = ctx.params;
					const { blobs } = this as unknown as LocalBlobsService;
					const target = `version:${formatRef(model, input.version ?? input.bump ?? "?")}`;
					const created = await audited(
						db,
						scope,
						"versions.import",
						target,
						async () => {
							await versions.assertModel(scope, model);
							// A repeat answers what its key made: it adds nothing, so no quota applies.
							const earlier =
								idempotencyKey != null
									? await versions.byKey(scope, model, idempotencyKey)
									: null;
							// The file's size is not known yet: a tenant at its stored bytes stores no more.
							if (!earlier)
								await versionQuotas(this as unknown as RegistryThis, ctx, db, 1);
							let sha256 = artifact;
							const stream = (ctx as unknown as { stream?: Readable | null }).stream;
							if (sha256 === undefined) {
								if (!stream) {
									throw new InvalidInputError(
										"Give the model file: as the call's stream, or as `artifact` (the sha256 an upload to artifacts returned).",
										{ field: "artifact" },
									);
								}
								sha256 = (await uploadArtifact(callerOf(ctx), stream)).sha256;
							}
							// The request as asked: the file by its hash, before it is read.
							const idempotency = idempotencyOf("versions.import", idempotencyKey, {
								...input,
								artifact: sha256,
							});
							if (earlier && idempotency)
								return replayOf(earlier, idempotency, model);
							const requireArtifact = async (hash: string) => {
								await requireArtifacts(callerOf(ctx), [hash]);
							};
							try {
								return await importVersion(
									{
										requireArtifact,
										localBlobPath: hash => blobs.path(hash),
										importModelFile,
									},
									versions,
									scope,
									model,
									{ ...input, artifact: sha256, idempotency },
								);
							} finally {
								// A decrypted copy is needed only while the file is read.
								await blobs.release(sha256);
							}
						},
					);
					return announced(this as unknown as RegistryThis, ctx, scope, created);
				},
			}),

			"versions.get": requires("models.read", {
				params: VERSION_REF_PARAMS,
				handler(ctx: Ctx<RefParams>) {
					const ref = parseVersionRef(ctx.params.model, ctx.params.version);
					return versions.get(scopeOf(ctx), ref.model, ref.selector);
				},
			}),

			/** `GET /api/v1/models/{model}/versions/{version}/files`: the served file and the ones kept beside it. */
			"versions.files": requires("models.read", {
				params: VERSION_REF_PARAMS,
				async handler(
					ctx: Ctx<RefParams>,
				): Promise<{ model: string; version: string; ref: string; files: VersionFile[] }> {
					const ref = parseVersionRef(ctx.params.model, ctx.params.version);
					const found = await versions.get(scopeOf(ctx), ref.model, ref.selector);
					return {
						model: found.model,
						version: found.version,
						ref: found.ref,
						files: versionFiles(found),
					};
				},
			}),

			"versions.list": requires("models.read", {
				params: {
					model: { type: "string", max: 256 },
					state: { type: "enum", values: [...VERSION_STATES], optional: true },
					...PAGE_PARAMS,
				},
				handler(ctx: Ctx<{ model: string; state?: VersionState } & PageParams>) {
					const { model, ...query } = ctx.params;
					return versions.list(scopeOf(ctx), model, query);
				},
			}),

			"versions.update": requires("models.write", {
				params: {
					...VERSION_REF_PARAMS,
					description: { type: "string", optional: true, max: 4096 },
					metrics: METRICS_RULE,
					serving: SERVING_RULE,
					/** Global importance (predictor.importance), kept as `details.importance`. */
					importance: {
						type: "object",
						optional: true,
						props: {
							method: { type: "equal", value: "permutation" },
							metric: { type: "enum", values: [...IMPORTANCE_METRICS] },
							features: { type: "array", max: 100_000, items: "object" },
							ranking: { type: "array", max: 100_000, items: "string" },
						},
					},
				},
				async handler(
					ctx: Ctx<
						RefParams & {
							description?: string;
							metrics?: Metric[];
							serving?: ServingSpec;
							importance?: Record<string, unknown>;
						}
					>,
				) {
					const scope = scopeOf(ctx);
					const ref = parseVersionRef(ctx.params.model, ctx.params.version);
					const { description, metrics, serving, importance } = ctx.params;
					const version = await audited(
						db,
						scope,
						"versions.update",
						`version:${ctx.params.model}`,
						() =>
							versions.update(scope, ref.model, ref.selector, {
								description,
								metrics,
								serving,
								importance,
							}),
					);
					const self = this as unknown as RegistryThis;
					void self.emitEvent(EVENTS.versionUpdated, versionEvent(scope, version), ctx);
					return version;
				},
			}),

			"versions.transition": requires("versions.transition", {
				params: {
					...VERSION_REF_PARAMS,
					to: { type: "enum", values: [...VERSION_STATES] },
					reason: { type: "string", optional: true, max: 1024 },
				},
				async handler(ctx: Ctx<RefParams & { to: VersionState; reason?: string }>) {
					const scope = scopeOf(ctx);
					const ref = parseVersionRef(ctx.params.model, ctx.params.version);
					const { to, reason } = ctx.params;
					const { version, from } = await audited(
						db,
						scope,
						"versions.transition",
						`version:${ctx.params.model}`,
						() => versions.transition(scope, ref.model, ref.selector, to, reason),
					);
					const self = this as unknown as RegistryThis;
					const payload = { ...versionEvent(scope, version), from };
					void self.emitEvent(EVENTS.versionTransitioned, payload, ctx);
					if (version.state === "Deployed")
						void self.emitEvent(EVENTS.modelDeployed, payload, ctx);
					if (version.state === "Retired")
						void self.emitEvent(EVENTS.modelRetired, payload, ctx);
					return { ...version, from };
				},
			}),
		},
	};
}
