import { randomUUID } from "node:crypto";
import { and, asc, eq, gt, like, sql, type SQL } from "drizzle-orm";
import type { Scope } from "../accounts/access";
import type { Db } from "../db/database";
import { isUniqueViolation } from "../db/migrate";
import { models, modelVersions } from "../db/schema";
import { AlreadyExistsError, NotFoundError, StateConflictError } from "../errors";
import { auditOk, decodeNameCursor, encodeCursor, type Page } from "./registry-scope";
import { MODEL_NAME_PATTERN } from "../model-spec/model-name";

export const MODEL_TASKS = ["classification", "regression", "nlp", "vision", "other"] as const;
export type ModelTask = (typeof MODEL_TASKS)[number];

export const MODEL_FRAMEWORKS = [
	"pytorch",
	"tensorflow",
	"keras",
	"sklearn",
	"xgboost",
	"lightgbm",
	"onnx",
	"tfjs",
	"other",
] as const;

export interface ModelView {
	id: string;
	name: string;
	description: string;
	task: string;
	framework: string;
	tags: Record<string, string>;
	createdAt: string;
	updatedAt: string;
}

export interface ModelInput {
	name: string;
	description?: string;
	task: ModelTask;
	framework: string;
	tags?: Record<string, string>;
}

export interface ModelPatch {
	description?: string;
	task?: ModelTask;
	framework?: string;
	/** Tags to set (a value) or remove (null). */
	tags?: Record<string, string | null>;
}

export interface ModelQuery {
	/** `key` (has the tag) or `key=value`. */
	tag?: string;
	task?: string;
	prefix?: string;
	limit: number;
	cursor?: string;
}

type ModelRow = typeof models.$inferSelect;

export const modelView = (row: ModelRow): ModelView => ({
	id: row.id,
	name: row.name,
	description: row.description,
	task: row.task,
	framework: row.framework,
	tags: row.tags,
	createdAt: row.createdAt.toISOString(),
	updatedAt: row.updatedAt.toISOString(),
});

/** The tenant's model by name; another tenant's answers 404 like a missing one. */
export async function findModel(
	db: Db,
	scope: Scope,
	name: string,
	forUpdate = false,
): Promise<ModelRow> {
	const query = db
		.select()
		.from(models)
		.where(and(eq(models.tenantId, scope.tenantId), eq(models.name, name)));
	const [row] = forUpdate ? await query.for("update") : await query;
	if (!row) throw new NotFoundError("model", name);
	return row;
}

export class ModelStore {
	constructor(private readonly db: Db) {}

	async create(scope: Scope, input: ModelInput): Promise<ModelView> {
		try {
			return await this.db.transaction(async tx => {
				const [row] = await tx
					.insert(models)
					.values({
						id: randomUUID(),
						tenantId: scope.tenantId,
						name: input.name,
						description: input.description ?? "",
						task: input.task,
						framework: input.framework,
						tags: input.tags ?? {},
					})
					.returning();
				await auditOk(tx, scope, "models.create", `model:${row.name}`);
				return modelView(row);
			});
		} catch (err) {
			if (isUniqueViolation(err)) {
				throw new AlreadyExistsError(
					"model",
					input.name,
					"Pick another name, or add a version to the existing model.",
				);
			}
			throw err;
		}
	}

	async get(scope: Scope, name: string): Promise<ModelView> {
		return modelView(await findModel(this.db, scope, name));
	}

	async list(scope: Scope, query: ModelQuery): Promise<Page<ModelView>> {
		const conditions: SQL[] = [eq(models.tenantId, scope.tenantId)];
		if (query.task) conditions.push(eq(models.task, query.task));
		if (query.prefix)
			conditions.push(
				like(models.name, `${query.prefix.replace(/[\\%_]/g, c => "\\" + c)}%`),
			);
		if (query.tag) {
			const eqAt = query.tag.indexOf("=");
			conditions.push(
				eqAt < 0
					? sql`${models.tags} ? ${query.tag}`
					: sql`${models.tags} @> ${JSON.stringify({ [query.tag.slice(0, eqAt)]: query.tag.slice(eqAt + 1) })}::jsonb`,
			);
		}
		const after = decodeNameCursor(query.cursor, MODEL_NAME_PATTERN);
		if (after !== undefined) conditions.push(gt(models.name, after));
		const rows = await this.db
			.select()
			.from(models)
			.where(and(...conditions))
			.orderBy(asc(models.name))
			.limit(query.limit + 1);
		const items = rows.slice(0, query.limit).map(modelView);
		return {
			items,
			nextCursor:
				rows.length > query.limit ? encodeCursor(items[items.length - 1].name) : null,
		};
	}

	async update(scope: Scope, name: string, patch: ModelPatch): Promise<ModelView> {
		return this.db.transaction(async tx => {
			const current = await findModel(tx, scope, name, true);
			const tags = { ...current.tags };
			for (const [key, value] of Object.entries(patch.tags ?? {})) {
				if (value === null) delete tags[key];
				else tags[key] = value;
			}
			const [row] = await tx
				.update(models)
				.set({
					description: patch.description ?? current.description,
					task: patch.task ?? current.task,
					framework: patch.framework ?? current.framework,
					tags,
					updatedAt: new Date(),
				})
				.where(eq(models.id, current.id))
				.returning();
			await auditOk(tx, scope, "models.update", `model:${name}`, {
				changed: Object.keys(patch),
			});
			return modelView(row);
		});
	}

	/** Deletes a model and all its versions; refused while one of them is Deployed. */
	async delete(scope: Scope, name: string): Promise<ModelView> {
		return this.db.transaction(async tx => {
			const current = await findModel(tx, scope, name, true);
			const deployed = await tx
				.select({ version: modelVersions.version })
				.from(modelVersions)
				.where(
					and(eq(modelVersions.modelId, current.id), eq(modelVersions.state, "Deployed")),
				);
			if (deployed.length > 0) {
				throw new StateConflictError(
					`Model '${name}' has Deployed versions (${deployed.map(d => d.version).join(", ")}): undeploy or retire them first.`,
					{ deployed: deployed.map(d => d.version) },
				);
			}
			await tx.delete(models).where(eq(models.id, current.id));
			await auditOk(tx, scope, "models.delete", `model:${name}`);
			return modelView(current);
		});
	}
}
