import { randomUUID } from "node:crypto";
import { and, asc, desc, eq, gt, lt, or, type SQL } from "drizzle-orm";
import type { Scope } from "../accounts/access";
import type { Db } from "../db/database";
import { isUniqueViolation } from "../db/migrate";
import { datasets } from "../db/schema";
import { NotFoundError } from "../errors";
import { MODEL_NAME_PATTERN } from "../model-spec/model-name";
import { auditOk, decodeNamedSeqCursor, encodeCursor, type Page } from "./registry-scope";

export interface DatasetView {
	id: string;
	name: string;
	version: number;
	/** `name@version`: how jobs name it. */
	ref: string;
	sha256: string;
	size: number;
	format: string;
	labelColumn: string | null;
	rows: number;
	report: unknown;
	createdAt: string;
}

export interface DatasetInput {
	name: string;
	sha256: string;
	size: number;
	format: string;
	labelColumn: string | null;
	rows: number;
	report: unknown;
}

type Row = typeof datasets.$inferSelect;

function view(row: Row): DatasetView {
	return {
		id: row.id,
		name: row.name,
		version: row.version,
		ref: `${row.name}@${row.version}`,
		sha256: row.sha256,
		size: row.size,
		format: row.format,
		labelColumn: row.labelColumn,
		rows: row.rows,
		report: row.report,
		createdAt: row.createdAt.toISOString(),
	};
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SHA256 = /^[0-9a-f]{64}$/i;

/** Datasets of a tenant: immutable rows; uploading under a name again adds its next version. */
export class DatasetStore {
	constructor(private readonly db: Db) {}

	async create(scope: Scope, input: DatasetInput): Promise<DatasetView> {
		// Two uploads under one name at once: the loser of the unique race takes the next number.
		for (let attempt = 0; ; attempt++) {
			try {
				return await this.db.transaction(async tx => {
					const [latest] = await tx
						.select({ version: datasets.version })
						.from(datasets)
						.where(
							and(
								eq(datasets.tenantId, scope.tenantId),
								eq(datasets.name, input.name),
							),
						)
						.orderBy(desc(datasets.version))
						.limit(1);
					const [row] = await tx
						.insert(datasets)
						.values({
							id: randomUUID(),
							tenantId: scope.tenantId,
							name: input.name,
							version: (latest?.version ?? 0) + 1,
							sha256: input.sha256,
							size: input.size,
							format: input.format,
							labelColumn: input.labelColumn,
							rows: input.rows,
							report: input.report,
						})
						.returning();
					await auditOk(
						tx,
						scope,
						"datasets.create",
						`dataset:${row.name}@${row.version}`,
						{
							sha256: row.sha256,
						},
					);
					return view(row);
				});
			} catch (err) {
				if (isUniqueViolation(err) && attempt < 5) continue;
				throw err;
			}
		}
	}

	/** By id, by sha256, or `name[@version]` (latest without a version). */
	async get(scope: Scope, ref: string): Promise<DatasetView> {
		const mine = eq(datasets.tenantId, scope.tenantId);
		let rows: Row[];
		if (UUID.test(ref)) {
			rows = await this.db
				.select()
				.from(datasets)
				.where(and(mine, eq(datasets.id, ref)));
		} else if (SHA256.test(ref)) {
			rows = await this.db
				.select()
				.from(datasets)
				.where(and(mine, eq(datasets.sha256, ref.toLowerCase())))
				.orderBy(desc(datasets.createdAt))
				.limit(1);
		} else {
			const at = ref.lastIndexOf("@");
			const name = at > 0 ? ref.slice(0, at) : ref;
			const version = at > 0 ? Number(ref.slice(at + 1)) : null;
			rows = await this.db
				.select()
				.from(datasets)
				.where(
					and(
						mine,
						eq(datasets.name, name),
						...(version !== null && Number.isInteger(version)
							? [eq(datasets.version, version)]
							: []),
					),
				)
				.orderBy(desc(datasets.version))
				.limit(1);
		}
		if (!rows[0]) throw new NotFoundError("dataset", ref);
		return view(rows[0]);
	}

	/** The tenant's datasets by name, newest version first; `name` keeps one dataset's versions. */
	async list(
		scope: Scope,
		query: { name?: string; limit: number; cursor?: string },
	): Promise<Page<DatasetView>> {
		const after = decodeNamedSeqCursor(query.cursor, MODEL_NAME_PATTERN);
		const conditions: SQL[] = [eq(datasets.tenantId, scope.tenantId)];
		if (query.name !== undefined) conditions.push(eq(datasets.name, query.name));
		if (after !== undefined) {
			const { name, seq: version } = after;
			conditions.push(
				or(
					gt(datasets.name, name),
					and(eq(datasets.name, name), lt(datasets.version, version)),
				)!,
			);
		}
		const rows = await this.db
			.select()
			.from(datasets)
			.where(and(...conditions))
			.orderBy(asc(datasets.name), desc(datasets.version))
			.limit(query.limit + 1);
		const page = rows.slice(0, query.limit);
		const last = page[page.length - 1];
		return {
			items: page.map(view),
			nextCursor:
				rows.length > query.limit
					? encodeCursor(`${last.name}\u0000${last.version}`)
					: null,
		};
	}

	/** Blobs datasets hold: artifact GC keeps them (job checkpoints: the scheduler's JobStore). */
	async referencedArtifacts(): Promise<string[]> {
		const data = await this.db.selectDistinct({ sha256: datasets.sha256 }).from(datasets);
		return data.map(d => d.sha256);
	}
}
