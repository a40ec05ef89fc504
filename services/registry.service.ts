/**
 * registry — models, versions, lifecycle, aliases and the audit log, all scoped to the
 * caller's tenant (another tenant's objects answer 404). Every mutation is audited in its own
 * transaction and announced by an event after it commits.
 */
import type { Readable } from "node:stream";
import type { Context, ServiceSchema } from "moleculer";
import { LocalBlobs, type LocalBlobsOptions } from "../lib/artifacts/local-blobs";
import type { ArtifactCall } from "../lib/artifacts/artifact-protocol";
import { uploadArtifact } from "../lib/artifacts/artifact-upload";
import { requireArtifacts } from "../lib/artifacts/artifact-check";
import { createModelImporters, importModelFile, type ArchiveLimits } from "../lib/importers";
import { requires, scopeOf, type RequestMeta, type Scope } from "../lib/accounts/access";
import { audited } from "../lib/audit/audited";
import { listAudit } from "../lib/audit/audit-log";
import type { Database } from "../lib/db/database";
import { EVENTS, type EventPayloads } from "../lib/events";
import { SERVICE } from "../lib/fleet/node-role";
import { INITIAL_STATES, VERSION_STATES, type VersionState } from "../lib/registry/lifecycle";
import { MODEL_NAME_PATTERN } from "../lib/model-spec/model-name";
import { MODEL_FORMATS } from "../lib/model-spec/model-schema";
import {
	MODEL_FRAMEWORKS,
	MODEL_TASKS,
	ModelStore,
	type ModelInput,
	type ModelPatch,
	type ModelQuery,
	type ModelView,
} from "../lib/registry/model-store";
import { VERSION_BUMPS } from "../lib/registry/version-number";
import { formatRef, parseVersionRef } from "../lib/registry/version-ref";
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
} from "../lib/model-spec/version-spec";
import { VersionStore, type VersionInput, type VersionView } from "../lib/registry/version-store";
import { importVersion, type VersionImportInput } from "../lib/registry/version-import";
import { versionArtifacts } from "../lib/registry/version-artifacts";
import { versionFiles, type VersionFile } from "../lib/registry/version-files";
import { InvalidInputError } from "../lib/errors";
import { DatasetStore, type DatasetInput } from "../lib/registry/dataset-store";
import { sequenceNumber } from "../lib/registry/registry-scope";

export interface RegistryServiceOptions {
	database: Database;
	/** The node's data directory: where a co-located artifacts store keeps blobs, and the import cache. */
	dataDir: string;
	/** How far a model archive (TF.js tar) may unpack on import; default DEFAULT_ARCHIVE_LIMITS. */
	archiveLimits?: ArchiveLimits;
	/** Encryption at rest of the blobs this node reads (its key, where decrypted copies go). Default none. */
	blobs?: LocalBlobsOptions;
}

const PAGE = {
	limit: { type: "number", integer: true, min: 1, max: 500, default: 50, convert: true },
	cursor: { type: "string", optional: true, max: 512 },
} as const;

const MODEL = { type: "string", pattern: MODEL_NAME_PATTERN } as const;
/** A version reference: `model`, `model@1.2.0`, `model@champion`, optionally with `version`. */
const VERSION_REF = {
	model: { type: "string", min: 1, max: 256 },
	version: { type: "string", optional: true, max: 128 },
} as const;
const TAGS = {
	type: "record",
	optional: true,
	key: { type: "string", min: 1, max: 64 },
	value: { type: "string", max: 256 },
} as const;

interface RefParams {
	model: string;
	version?: string;
}

type Ctx<P> = Context<P, RequestMeta>;

/** Calls for the caller of `ctx`: its tenant travels in the meta, so artifacts answer for it. */
function callerOf(ctx: Context): ArtifactCall {
	return (action, params, options) => ctx.call(action, params, options);
}

export function registryService(options: RegistryServiceOptions): ServiceSchema {
	const { db } = options.database;
	const importers = createModelImporters(
		options.archiveLimits ? { archiveLimits: options.archiveLimits } : {},
	);
	const models = new ModelStore(db);
	const versions = new VersionStore(db);
	const datasets = new DatasetStore(db);
	let blobs: LocalBlobs;
	let call: ArtifactCall;
	const localBlobPath = (sha256: string) => blobs.path(sha256);

	function emit<E extends keyof EventPayloads>(
		ctx: Context,
		event: E,
		payload: EventPayloads[E],
	): void {
		// Events go out after the commit; a lost event must not fail the mutation that caused it.
		ctx.emit(event, payload).catch(() => undefined);
	}

	const modelEvent = (scope: Scope, model: ModelView) => ({
		tenant: scope.tenantId,
		keyId: scope.keyId,
		model: model.name,
		modelId: model.id,
	});

	const versionEvent = (scope: Scope, version: VersionView) => ({
		tenant: scope.tenantId,
		keyId: scope.keyId,
		model: version.model,
		version: version.version,
		versionId: version.id,
		state: version.state,
	});

	return {
		name: SERVICE.registry,

		async created() {
			call = (action, params, callOptions) => this.broker.call(action, params, callOptions);
			blobs = new LocalBlobs(options.dataDir, call, options.blobs);
		},

		async started() {
			await blobs.open();
		},

		async stopped() {
			await blobs.close();
		},

		actions: {
			"models.create": requires("models.write", {
				params: {
					name: MODEL,
					description: { type: "string", optional: true, max: 4096 },
					task: { type: "enum", values: [...MODEL_TASKS] },
					framework: { type: "enum", values: [...MODEL_FRAMEWORKS] },
					tags: TAGS,
				},
				async handler(ctx: Ctx<ModelInput>) {
					const scope = scopeOf(ctx);
					const model = await audited(
						db,
						scope,
						"models.create",
						`model:${ctx.params.name}`,
						() => models.create(scope, ctx.params),
					);
					emit(ctx, EVENTS.modelCreated, modelEvent(scope, model));
					return model;
				},
			}),

			"models.get": requires("models.read", {
				params: { name: { type: "string", max: 256 } },
				handler(ctx: Ctx<{ name: string }>) {
					return models.get(scopeOf(ctx), ctx.params.name);
				},
			}),

			"models.list": requires("models.read", {
				params: {
					tag: { type: "string", optional: true, max: 320 },
					task: { type: "enum", values: [...MODEL_TASKS], optional: true },
					prefix: { type: "string", optional: true, max: 128 },
					...PAGE,
				},
				handler(ctx: Ctx<ModelQuery>) {
					return models.list(scopeOf(ctx), ctx.params);
				},
			}),

			"models.update": requires("models.write", {
				params: {
					name: { type: "string", max: 256 },
					description: { type: "string", optional: true, max: 4096 },
					task: { type: "enum", values: [...MODEL_TASKS], optional: true },
					framework: { type: "enum", values: [...MODEL_FRAMEWORKS], optional: true },
					tags: { ...TAGS, value: { type: "string", max: 256, nullable: true } },
				},
				async handler(ctx: Ctx<ModelPatch & { name: string }>) {
					const scope = scopeOf(ctx);
					const { name, ...patch } = ctx.params;
					const model = await audited(db, scope, "models.update", `model:${name}`, () =>
						models.update(scope, name, patch),
					);
					emit(ctx, EVENTS.modelUpdated, modelEvent(scope, model));
					return model;
				},
			}),

			"models.delete": requires("models.write", {
				params: { name: { type: "string", max: 256 } },
				async handler(ctx: Ctx<{ name: string }>) {
					const scope = scopeOf(ctx);
					const { name } = ctx.params;
					const model = await audited(db, scope, "models.delete", `model:${name}`, () =>
						models.delete(scope, name),
					);
					emit(ctx, EVENTS.modelDeleted, modelEvent(scope, model));
					return model;
				},
			}),

			"versions.create": requires("models.write", {
				params: {
					model: { type: "string", max: 256 },
					version: { type: "string", optional: true, max: 128 },
					bump: { type: "enum", values: [...VERSION_BUMPS], optional: true },
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
					description: { type: "string", optional: true, max: 4096 },
					schema: MODEL_SCHEMA_RULE,
					pipeline: PIPELINE_RULE,
					labels: LABELS_RULE,
					metrics: METRICS_RULE,
					lineage: LINEAGE_RULE,
					resources: RESOURCES_RULE,
					serving: SERVING_RULE,
					/** What made it (a training job: the formats kept beside the served one). */
					details: { type: "object", optional: true },
					state: { type: "enum", values: [...INITIAL_STATES], optional: true },
				},
				async handler(ctx: Ctx<VersionInput & { model: string }>) {
					const scope = scopeOf(ctx);
					const { model, ...input } = ctx.params;
					const target = `version:${formatRef(model, input.version ?? input.bump ?? "?")}`;
					const version = await audited(
						db,
						scope,
						"versions.create",
						target,
						async () => {
							// A version may name only blobs of its own tenant (another's answers 404).
							await requireArtifacts(callerOf(ctx), versionArtifacts(input));
							return versions.create(scope, model, input);
						},
					);
					emit(ctx, EVENTS.versionCreated, versionEvent(scope, version));
					return version;
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
					version: { type: "string", optional: true, max: 128 },
					bump: { type: "enum", values: [...VERSION_BUMPS], optional: true },
					description: { type: "string", optional: true, max: 4096 },
					schema: { ...MODEL_SCHEMA_RULE, optional: true },
					pipeline: PIPELINE_RULE,
					labels: LABELS_RULE,
					metrics: METRICS_RULE,
					lineage: LINEAGE_RULE,
					resources: RESOURCES_RULE,
					serving: SERVING_RULE,
					state: { type: "enum", values: [...INITIAL_STATES], optional: true },
				},
				async handler(
					ctx: Ctx<
						Omit<VersionImportInput, "artifact"> & { model: string; artifact?: string }
					>,
				) {
					const scope = scopeOf(ctx);
					const { model, artifact, ...input } = ctx.params;
					const target = `version:${formatRef(model, input.version ?? input.bump ?? "?")}`;
					const version = await audited(
						db,
						scope,
						"versions.import",
						target,
						async () => {
							await versions.assertModel(scope, model);
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
							const requireArtifact = async (hash: string) => {
								await requireArtifacts(callerOf(ctx), [hash]);
							};
							try {
								return await importVersion(
									{
										requireArtifact,
										localBlobPath,
										importModelFile: (filePath, importOptions) =>
											importModelFile(filePath, {
												...importOptions,
												importers,
											}),
									},
									versions,
									scope,
									model,
									{
										...input,
										artifact: sha256,
									},
								);
							} finally {
								// A decrypted copy is needed only while the file is read.
								await blobs.release(sha256);
							}
						},
					);
					emit(ctx, EVENTS.versionCreated, versionEvent(scope, version));
					return version;
				},
			}),

			"versions.get": requires("models.read", {
				params: VERSION_REF,
				handler(ctx: Ctx<RefParams>) {
					const ref = parseVersionRef(ctx.params.model, ctx.params.version);
					return versions.get(scopeOf(ctx), ref.model, ref.selector);
				},
			}),

			/** `GET /api/v1/models/{model}/versions/{version}/files`: the served file and the ones kept beside it. */
			"versions.files": requires("models.read", {
				params: VERSION_REF,
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
					...PAGE,
				},
				handler(
					ctx: Ctx<{
						model: string;
						state?: VersionState;
						limit: number;
						cursor?: string;
					}>,
				) {
					const { model, ...query } = ctx.params;
					return versions.list(scopeOf(ctx), model, query);
				},
			}),

			"versions.update": requires("models.write", {
				params: {
					...VERSION_REF,
					description: { type: "string", optional: true, max: 4096 },
					metrics: METRICS_RULE,
					serving: SERVING_RULE,
				},
				async handler(
					ctx: Ctx<
						RefParams & {
							description?: string;
							metrics?: Metric[];
							serving?: ServingSpec;
						}
					>,
				) {
					const scope = scopeOf(ctx);
					const ref = parseVersionRef(ctx.params.model, ctx.params.version);
					const { description, metrics, serving } = ctx.params;
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
							}),
					);
					emit(ctx, EVENTS.versionUpdated, versionEvent(scope, version));
					return version;
				},
			}),

			"versions.transition": requires("versions.transition", {
				params: {
					...VERSION_REF,
					to: { type: "enum", values: [...VERSION_STATES] },
					reason: { type: "string", optional: true, max: 1024 },
				},
				async handler(ctx: Ctx<RefParams & { to: VersionState; reason?: string }>) {
					const scope = scopeOf(ctx);
					const ref = parseVersionRef(ctx.params.model, ctx.params.version);
					const { version, from } = await audited(
						db,
						scope,
						"versions.transition",
						`version:${ctx.params.model}`,
						() =>
							versions.transition(
								scope,
								ref.model,
								ref.selector,
								ctx.params.to,
								ctx.params.reason,
							),
					);
					const payload = { ...versionEvent(scope, version), from };
					emit(ctx, EVENTS.versionTransitioned, payload);
					if (version.state === "Deployed") emit(ctx, EVENTS.modelDeployed, payload);
					if (version.state === "Retired") emit(ctx, EVENTS.modelRetired, payload);
					return { ...version, from };
				},
			}),

			"aliases.set": requires("models.write", {
				params: {
					model: MODEL,
					alias: { type: "string", min: 1, max: 64 },
					version: { type: "string", min: 1, max: 128 },
				},
				async handler(ctx: Ctx<{ model: string; alias: string; version: string }>) {
					const scope = scopeOf(ctx);
					const { model, alias, version } = ctx.params;
					const moved = await audited(
						db,
						scope,
						"aliases.set",
						`alias:${formatRef(model, alias)}`,
						() => versions.setAlias(scope, model, alias, version),
					);
					emit(ctx, EVENTS.aliasMoved, {
						tenant: scope.tenantId,
						keyId: scope.keyId,
						model,
						alias,
						version: moved.version,
						previous: moved.previous,
					});
					return moved;
				},
			}),

			"aliases.delete": requires("models.write", {
				params: { model: MODEL, alias: { type: "string", min: 1, max: 64 } },
				async handler(ctx: Ctx<{ model: string; alias: string }>) {
					const scope = scopeOf(ctx);
					const { model, alias } = ctx.params;
					const deleted = await audited(
						db,
						scope,
						"aliases.delete",
						`alias:${formatRef(model, alias)}`,
						() => versions.deleteAlias(scope, model, alias),
					);
					emit(ctx, EVENTS.aliasDeleted, {
						tenant: scope.tenantId,
						keyId: scope.keyId,
						model,
						alias,
						version: null,
						previous: null,
					});
					return deleted;
				},
			}),

			"aliases.list": requires("models.read", {
				params: { model: MODEL },
				handler(ctx: Ctx<{ model: string }>) {
					return versions.listAliases(scopeOf(ctx), ctx.params.model);
				},
			}),

			"audit.list": requires("audit.read", {
				params: {
					target: { type: "string", optional: true, max: 512 },
					action: { type: "string", optional: true, max: 128 },
					...PAGE,
				},
				handler(
					ctx: Ctx<{ target?: string; action?: string; limit: number; cursor?: string }>,
				) {
					const { cursor, ...query } = ctx.params;
					// The audit log pages by row id, in decimal: one a bigint holds and a double keeps.
					const before = cursor !== undefined ? sequenceNumber(cursor) : undefined;
					return listAudit(db, scopeOf(ctx).tenantId, { ...query, before });
				},
			}),

			/**
			 * Records an uploaded dataset (the gateway has parsed and stored it for the caller's
			 * tenant): the next version under its name, immutable.
			 */
			"datasets.create": requires("train", {
				params: {
					name: { type: "string", pattern: MODEL_NAME_PATTERN },
					sha256: { type: "string", pattern: /^[0-9a-f]{64}$/ },
					size: { type: "number", integer: true, min: 0 },
					format: { type: "enum", values: ["csv", "ndjson"] },
					labelColumn: { type: "string", optional: true, nullable: true, max: 256 },
					rows: { type: "number", integer: true, min: 0 },
					report: { type: "object" },
				},
				async handler(ctx: Ctx<DatasetInput>) {
					const scope = scopeOf(ctx);
					await requireArtifacts(callerOf(ctx), [ctx.params.sha256]);
					return datasets.create(scope, {
						...ctx.params,
						labelColumn: ctx.params.labelColumn ?? null,
					});
				},
			}),

			/** A dataset by id, sha256 or `name[@version]` (latest). */
			"datasets.get": requires("models.read", {
				params: { ref: { type: "string", min: 1, max: 300 } },
				handler(ctx: Ctx<{ ref: string }>) {
					return datasets.get(scopeOf(ctx), ctx.params.ref);
				},
			}),

			"datasets.list": requires("models.read", {
				params: { name: { type: "string", optional: true, max: 128 }, ...PAGE },
				handler(ctx: Ctx<{ name?: string; limit: number; cursor?: string }>) {
					return datasets.list(scopeOf(ctx), ctx.params);
				},
			}),

			/** Every artifact a version or dataset references, across tenants: what artifact GC keeps (with the scheduler's checkpoints). Fleet-internal. */
			referencedArtifacts: {
				visibility: "public",
				async handler(): Promise<string[]> {
					return [
						...(await versions.referencedArtifacts()),
						...(await datasets.referencedArtifacts()),
					];
				},
			},
		},
	};
}
