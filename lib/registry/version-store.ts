import { randomUUID } from "node:crypto";
import { and, desc, eq, inArray, isNotNull, lt, sql, type SQL } from "drizzle-orm";
import type { Scope } from "../accounts/access";
import type { Db } from "../db/database";
import { isUniqueViolation } from "../db/migrate";
import { modelAliases, modelVersions } from "../db/schema";
import {
	AlreadyExistsError,
	IdempotencyConflictError,
	InvalidInputError,
	NotFoundError,
} from "../errors";
import { assertTransition, INITIAL_STATES, type VersionState } from "./lifecycle";
import type { ModelFormat, ModelSchema } from "../model-spec/model-schema";
import { findModel } from "./model-store";
import { auditOk, decodeSeqCursor, encodeCursor, type Page } from "./registry-scope";
import {
	compareVersionsDescending,
	nextVersion,
	parseVersion,
	type VersionBump,
} from "./version-number";
import { alternateArtifacts } from "./version-artifacts";
import type { Idempotency } from "../model-spec/version-idempotency";
import { formatRef, parseSelector, type VersionSelector } from "./version-ref";
import {
	checkVersionSpec,
	type Lineage,
	type Metric,
	type PipelineSpec,
	type ResourceHints,
	type ServingSpec,
} from "../model-spec/version-spec";

/** Alias names: never a semantic version or "latest", so a selector is never ambiguous. */
export const ALIAS_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

export interface VersionView {
	id: string;
	model: string;
	version: string;
	/** `model@version`, usable anywhere a version is expected. */
	ref: string;
	state: VersionState;
	format: ModelFormat;
	artifact: { sha256: string; size: number } | null;
	description: string;
	schema: ModelSchema;
	pipeline: PipelineSpec;
	labels: string[] | null;
	metrics: Metric[];
	lineage: Lineage;
	resources: ResourceHints;
	details: Record<string, unknown>;
	serving: ServingSpec;
	aliases: string[];
	createdAt: string;
	updatedAt: string;
}

export interface VersionInput {
	/** An exact version; or leave out and give `bump`. */
	version?: string;
	bump?: VersionBump;
	format: ModelFormat;
	artifact?: { sha256: string; size: number } | null;
	description?: string;
	schema: ModelSchema;
	pipeline?: Partial<PipelineSpec>;
	labels?: string[] | null;
	metrics?: Metric[];
	lineage?: Omit<Lineage, "createdByKey">;
	resources?: ResourceHints;
	details?: Record<string, unknown>;
	serving?: ServingSpec;
	state?: VersionState;
	/**
	 * Makes the create idempotent (version-idempotency.ts): kept with the version; the same key
	 * again answers that version (the same fingerprint) or 409 IDEMPOTENCY_CONFLICT (another).
	 */
	idempotency?: Idempotency;
}

/** A create's answer: the version, and whether an earlier create with its key had made it. */
export interface CreatedVersion {
	version: VersionView;
	replayed: boolean;
}

/** The version an idempotency key made, and the fingerprint of the request that made it. */
export interface KeyedVersion {
	version: VersionView;
	fingerprint: string;
}

export interface VersionQuery {
	state?: VersionState;
	limit: number;
	cursor?: string;
}

export interface AliasView {
	alias: string;
	model: string;
	version: string;
	ref: string;
	updatedAt: string;
}

type VersionRow = typeof modelVersions.$inferSelect;

function versionView(row: VersionRow, model: string, aliases: string[]): VersionView {
	return {
		id: row.id,
		model,
		version: row.version,
		ref: formatRef(model, row.version),
		state: row.state as VersionState,
		format: row.format as ModelFormat,
		artifact: row.artifactSha256
			? { sha256: row.artifactSha256, size: row.artifactSize ?? 0 }
			: null,
		description: row.description,
		schema: row.schema as ModelSchema,
		pipeline: row.pipeline as PipelineSpec,
		labels: (row.labels as string[] | null) ?? null,
		metrics: row.metrics as Metric[],
		lineage: row.lineage as Lineage,
		resources: row.resources as ResourceHints,
		details: row.details as Record<string, unknown>,
		serving: (row.serving as ServingSpec) ?? {},
		aliases: aliases.sort(),
		createdAt: row.createdAt.toISOString(),
		updatedAt: row.updatedAt.toISOString(),
	};
}

/** The new version's pipeline, metrics and initial state, its spec checked; 400 when wrong. */
function checkedVersionInput(input: VersionInput) {
	const pipeline: PipelineSpec = {
		pre: input.pipeline?.pre ?? [],
		post: input.pipeline?.post ?? [],
	};
	const metrics = input.metrics ?? [];
	checkVersionSpec({ schema: input.schema, pipeline, labels: input.labels ?? null, metrics });
	const state = input.state ?? "Draft";
	if (!INITIAL_STATES.includes(state)) {
		throw new InvalidInputError(
			`A version starts in one of ${INITIAL_STATES.join(", ")}, not ${state}.`,
			{ field: "state" },
		);
	}
	if (input.version === undefined && input.bump === undefined) {
		throw new InvalidInputError(
			"Give either version (e.g. 1.0.0) or bump (major, minor or patch).",
			{ field: "version" },
		);
	}
	return { pipeline, metrics, state };
}

/** The row of a new version: its fields as checked, the key that created it, its idempotency key. */
function newVersionRow(
	scope: Scope,
	modelId: string,
	version: string,
	input: VersionInput,
	{ pipeline, metrics, state }: ReturnType<typeof checkedVersionInput>,
): typeof modelVersions.$inferInsert {
	return {
		id: randomUUID(),
		tenantId: scope.tenantId,
		modelId,
		version,
		state,
		format: input.format,
		artifactSha256: input.artifact?.sha256 ?? null,
		artifactSize: input.artifact?.size ?? null,
		description: input.description ?? "",
		schema: input.schema,
		pipeline,
		labels: input.labels ?? null,
		metrics,
		lineage: { ...(input.lineage ?? {}), createdByKey: scope.keyId },
		resources: input.resources ?? {},
		details: input.details ?? {},
		serving: input.serving ?? {},
		idempotencyKey: input.idempotency?.key ?? null,
		idempotencyFingerprint: input.idempotency?.fingerprint ?? null,
	};
}

/** The version an earlier create with the key made, when it came from the same request; else 409. */
export function replayOf(
	earlier: KeyedVersion,
	idempotency: Idempotency,
	modelName: string,
): CreatedVersion {
	if (earlier.fingerprint !== idempotency.fingerprint)
		throw new IdempotencyConflictError(idempotency.key, modelName, earlier.version.version);
	return { version: earlier.version, replayed: true };
}

/** Model versions and their aliases. Versions are immutable but for state, description and metrics. */
export class VersionStore {
	constructor(private readonly db: Db) {}

	async create(scope: Scope, modelName: string, input: VersionInput): Promise<VersionView> {
		return (await this.createOrReplay(scope, modelName, input)).version;
	}

	/**
	 * Creates the version; with `input.idempotency`, answers the version its key already made
	 * instead (`replayed`), or 409 when that came from another request. Two creates with one key
	 * racing make one version: the unique index refuses the second, which then answers the first's.
	 */
	async createOrReplay(
		scope: Scope,
		modelName: string,
		input: VersionInput,
	): Promise<CreatedVersion> {
		const checked = checkedVersionInput(input);
		const { state } = checked;
		const exact = input.version !== undefined ? parseVersion(input.version) : undefined;
		const { idempotency } = input;
		// A bump races with another bump of the same model: the unique constraint refuses one,
		// which then takes the next number.
		for (let attempt = 0; ; attempt++) {
			try {
				return await this.db.transaction(async tx => {
					const model = await findModel(tx, scope, modelName);
					if (idempotency) {
						const earlier = await this.keyed(tx, model, idempotency.key);
						if (earlier) return replayOf(earlier, idempotency, model.name);
					}
					let version = exact;
					if (version === undefined) {
						const existing = await tx
							.select({ version: modelVersions.version })
							.from(modelVersions)
							.where(eq(modelVersions.modelId, model.id));
						version = nextVersion(
							existing.map(e => e.version),
							input.bump as VersionBump,
						);
					}
					const [row] = await tx
						.insert(modelVersions)
						.values(newVersionRow(scope, model.id, version, input, checked))
						.returning();
					await auditOk(
						tx,
						scope,
						"versions.create",
						`version:${formatRef(model.name, version)}`,
						{
							state,
							format: input.format,
							artifact: input.artifact?.sha256 ?? null,
						},
					);
					return { version: versionView(row, model.name, []), replayed: false };
				});
			} catch (err) {
				if (!isUniqueViolation(err)) throw err;
				// Refused for the key (or a number) another create with it took meanwhile: its version.
				if (idempotency) {
					const earlier = await this.byKey(scope, modelName, idempotency.key);
					if (earlier) return replayOf(earlier, idempotency, modelName);
				}
				if (exact !== undefined || attempt >= 4) {
					throw new AlreadyExistsError(
						"version",
						formatRef(modelName, exact ?? "next"),
						"Versions are immutable: create a new one.",
					);
				}
			}
		}
	}

	/** The version `key` made of the tenant's model, with its request's fingerprint; null if none. */
	async byKey(scope: Scope, modelName: string, key: string): Promise<KeyedVersion | null> {
		return this.keyed(this.db, await findModel(this.db, scope, modelName), key);
	}

	/** 404 unless the tenant has this model. */
	async assertModel(scope: Scope, modelName: string): Promise<void> {
		await findModel(this.db, scope, modelName);
	}

	/** A version by exact number, alias or "latest" (the highest version). */
	async get(
		scope: Scope,
		modelName: string,
		selector: VersionSelector | string,
	): Promise<VersionView> {
		const model = await findModel(this.db, scope, modelName);
		const row = await this.resolve(
			this.db,
			model.id,
			modelName,
			typeof selector === "string" ? parseSelector(selector) : selector,
		);
		return versionView(
			row,
			model.name,
			await this.aliasesOf(this.db, [row.id]).then(m => m.get(row.id) ?? []),
		);
	}

	async list(scope: Scope, modelName: string, query: VersionQuery): Promise<Page<VersionView>> {
		const model = await findModel(this.db, scope, modelName);
		const conditions: SQL[] = [eq(modelVersions.modelId, model.id)];
		if (query.state) conditions.push(eq(modelVersions.state, query.state));
		const before = decodeSeqCursor(query.cursor);
		if (before !== undefined) conditions.push(lt(modelVersions.seq, before));
		const rows = await this.db
			.select()
			.from(modelVersions)
			.where(and(...conditions))
			.orderBy(desc(modelVersions.seq))
			.limit(query.limit + 1);
		const page = rows.slice(0, query.limit);
		const aliases = await this.aliasesOf(
			this.db,
			page.map(r => r.id),
		);
		return {
			items: page.map(row => versionView(row, model.name, aliases.get(row.id) ?? [])),
			nextCursor: rows.length > query.limit ? encodeCursor(page[page.length - 1].seq) : null,
		};
	}

	/** Moves a version through the lifecycle; the row is locked so two moves cannot both pass the check. */
	async transition(
		scope: Scope,
		modelName: string,
		selector: VersionSelector | string,
		to: VersionState,
		reason?: string,
	): Promise<{ version: VersionView; from: VersionState }> {
		return this.db.transaction(async tx => {
			const model = await findModel(tx, scope, modelName);
			const sel = typeof selector === "string" ? parseSelector(selector) : selector;
			const current = await this.resolve(tx, model.id, modelName, sel, true);
			const from = current.state as VersionState;
			assertTransition(from, to);
			const [row] = await tx
				.update(modelVersions)
				.set({ state: to, updatedAt: new Date() })
				.where(eq(modelVersions.id, current.id))
				.returning();
			await auditOk(
				tx,
				scope,
				"versions.transition",
				`version:${formatRef(model.name, row.version)}`,
				{
					from,
					to,
					reason: reason ?? null,
				},
			);
			const aliases = await this.aliasesOf(tx, [row.id]);
			return { version: versionView(row, model.name, aliases.get(row.id) ?? []), from };
		});
	}

	/** Adds metrics (replacing one of the same name and dataset) and/or changes the description. */
	async update(
		scope: Scope,
		modelName: string,
		selector: VersionSelector | string,
		patch: {
			description?: string;
			metrics?: Metric[];
			serving?: ServingSpec;
			/** Global importance: replaces `details.importance`. */
			importance?: Record<string, unknown>;
		},
	): Promise<VersionView> {
		return this.db.transaction(async tx => {
			const model = await findModel(tx, scope, modelName);
			const sel = typeof selector === "string" ? parseSelector(selector) : selector;
			const current = await this.resolve(tx, model.id, modelName, sel, true);
			const key = (m: Metric) =>
				`${m.name}/${m.dataset?.split ?? ""}/${m.dataset?.name ?? ""}`;
			const merged = new Map((current.metrics as Metric[]).map(m => [key(m), m]));
			for (const metric of patch.metrics ?? []) merged.set(key(metric), metric);
			const [row] = await tx
				.update(modelVersions)
				.set({
					description: patch.description ?? current.description,
					metrics: [...merged.values()],
					serving: patch.serving ?? current.serving,
					...(patch.importance !== undefined
						? {
								details: {
									...(current.details as Record<string, unknown>),
									importance: patch.importance,
								},
							}
						: {}),
					updatedAt: new Date(),
				})
				.where(eq(modelVersions.id, current.id))
				.returning();
			await auditOk(
				tx,
				scope,
				"versions.update",
				`version:${formatRef(model.name, row.version)}`,
				{
					changed: Object.keys(patch).filter(
						k => patch[k as keyof typeof patch] !== undefined,
					),
				},
			);
			const aliases = await this.aliasesOf(tx, [row.id]);
			return versionView(row, model.name, aliases.get(row.id) ?? []);
		});
	}

	/**
	 * Points an alias at a version, creating or moving it in one statement: concurrent moves
	 * serialize on the row, the last one wins, and each writes its own audit row.
	 */
	async setAlias(
		scope: Scope,
		modelName: string,
		alias: string,
		selector: VersionSelector | string,
	): Promise<AliasView & { previous: string | null }> {
		if (!ALIAS_PATTERN.test(alias) || alias === "latest") {
			throw new InvalidInputError(
				`Alias '${alias}' must start with a letter, hold only letters, digits, '_' or '-', and not be 'latest'.`,
				{ field: "alias" },
			);
		}
		return this.db.transaction(async tx => {
			const model = await findModel(tx, scope, modelName, true);
			const sel = typeof selector === "string" ? parseSelector(selector) : selector;
			const target = await this.resolve(tx, model.id, modelName, sel);
			const [previous] = await tx
				.select({ version: modelVersions.version })
				.from(modelAliases)
				.innerJoin(modelVersions, eq(modelVersions.id, modelAliases.versionId))
				.where(and(eq(modelAliases.modelId, model.id), eq(modelAliases.alias, alias)));
			const now = new Date();
			await tx
				.insert(modelAliases)
				.values({
					tenantId: scope.tenantId,
					modelId: model.id,
					alias,
					versionId: target.id,
					updatedAt: now,
				})
				.onConflictDoUpdate({
					target: [modelAliases.modelId, modelAliases.alias],
					set: { versionId: target.id, updatedAt: now },
				});
			await auditOk(tx, scope, "aliases.set", `alias:${formatRef(model.name, alias)}`, {
				version: target.version,
				previous: previous?.version ?? null,
			});
			return {
				alias,
				model: model.name,
				version: target.version,
				ref: formatRef(model.name, target.version),
				updatedAt: now.toISOString(),
				previous: previous?.version ?? null,
			};
		});
	}

	async deleteAlias(
		scope: Scope,
		modelName: string,
		alias: string,
	): Promise<{ alias: string; model: string }> {
		return this.db.transaction(async tx => {
			const model = await findModel(tx, scope, modelName);
			const deleted = await tx
				.delete(modelAliases)
				.where(and(eq(modelAliases.modelId, model.id), eq(modelAliases.alias, alias)))
				.returning();
			if (deleted.length === 0) throw new NotFoundError("alias", formatRef(modelName, alias));
			await auditOk(tx, scope, "aliases.delete", `alias:${formatRef(model.name, alias)}`);
			return { alias, model: model.name };
		});
	}

	async listAliases(scope: Scope, modelName: string): Promise<AliasView[]> {
		const model = await findModel(this.db, scope, modelName);
		const rows = await this.db
			.select({
				alias: modelAliases.alias,
				version: modelVersions.version,
				updatedAt: modelAliases.updatedAt,
			})
			.from(modelAliases)
			.innerJoin(modelVersions, eq(modelVersions.id, modelAliases.versionId))
			.where(eq(modelAliases.modelId, model.id))
			.orderBy(modelAliases.alias);
		return rows.map(r => ({
			alias: r.alias,
			model: model.name,
			version: r.version,
			ref: formatRef(model.name, r.version),
			updatedAt: r.updatedAt.toISOString(),
		}));
	}

	/** Every artifact any version of any tenant references: what artifact GC must keep. */
	async referencedArtifacts(): Promise<string[]> {
		const rows = await this.db
			.selectDistinct({ sha256: modelVersions.artifactSha256 })
			.from(modelVersions)
			.where(isNotNull(modelVersions.artifactSha256));
		// Files kept beside the served one (a trained version's TF.js export).
		const withAlternates = await this.db
			.select({ details: modelVersions.details })
			.from(modelVersions)
			.where(sql`${modelVersions.details} ? 'alternates'`);
		const alternates = withAlternates.flatMap(row => alternateArtifacts(row.details));
		return [...rows.map(r => r.sha256 as string), ...alternates];
	}

	private async resolve(
		db: Db,
		modelId: string,
		modelName: string,
		selector: VersionSelector,
		forUpdate = false,
	): Promise<VersionRow> {
		let condition: SQL;
		if (selector.kind === "version") {
			condition = eq(modelVersions.version, selector.version);
		} else if (selector.kind === "alias") {
			const [alias] = await db
				.select({ versionId: modelAliases.versionId })
				.from(modelAliases)
				.where(
					and(eq(modelAliases.modelId, modelId), eq(modelAliases.alias, selector.alias)),
				);
			if (!alias) throw new NotFoundError("version", formatRef(modelName, selector.alias));
			condition = eq(modelVersions.id, alias.versionId);
		} else {
			const all = await db
				.select({ version: modelVersions.version })
				.from(modelVersions)
				.where(eq(modelVersions.modelId, modelId));
			if (all.length === 0)
				throw new NotFoundError("version", formatRef(modelName, "latest"));
			condition = eq(
				modelVersions.version,
				all.map(v => v.version).sort(compareVersionsDescending)[0],
			);
		}
		const query = db
			.select()
			.from(modelVersions)
			.where(and(eq(modelVersions.modelId, modelId), condition));
		const [row] = forUpdate ? await query.for("update") : await query;
		const name =
			selector.kind === "version"
				? selector.version
				: selector.kind === "alias"
					? selector.alias
					: "latest";
		if (!row) throw new NotFoundError("version", formatRef(modelName, name));
		return row;
	}

	private async keyed(
		db: Db,
		model: { id: string; tenantId: string; name: string },
		key: string,
	): Promise<KeyedVersion | null> {
		const [row] = await db
			.select()
			.from(modelVersions)
			.where(
				and(
					eq(modelVersions.tenantId, model.tenantId),
					eq(modelVersions.modelId, model.id),
					eq(modelVersions.idempotencyKey, key),
				),
			);
		if (!row) return null;
		const aliases = await this.aliasesOf(db, [row.id]);
		return {
			version: versionView(row, model.name, aliases.get(row.id) ?? []),
			fingerprint: row.idempotencyFingerprint ?? "",
		};
	}

	private async aliasesOf(db: Db, versionIds: string[]): Promise<Map<string, string[]>> {
		const map = new Map<string, string[]>();
		if (versionIds.length === 0) return map;
		const rows = await db
			.select({ versionId: modelAliases.versionId, alias: modelAliases.alias })
			.from(modelAliases)
			.where(inArray(modelAliases.versionId, versionIds));
		for (const row of rows)
			map.set(row.versionId, [...(map.get(row.versionId) ?? []), row.alias]);
		return map;
	}
}
