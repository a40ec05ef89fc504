/**
 * What a tenant holds in the registry, for quotas and the usage report: its models, its
 * versions, and the bytes of the model files and datasets it stored (each distinct file once).
 */
import { and, count, eq, isNotNull } from "drizzle-orm";
import type { Db } from "../db/database";
import { datasets, modelVersions, models } from "../db/schema";

export interface RegistryHoldings {
	models: number;
	versions: number;
	artifactsBytes: number;
	datasetsBytes: number;
}

/** One tenant's stored bytes (the usage report's daily snapshot). */
export interface TenantStoredBytes {
	tenant: string;
	artifactsBytes: number;
	datasetsBytes: number;
	capturesBytes: number;
}

export async function countModels(db: Db, tenant: string): Promise<number> {
	const [row] = await db.select({ n: count() }).from(models).where(eq(models.tenantId, tenant));
	return Number(row?.n ?? 0);
}

export async function countVersions(db: Db, tenant: string): Promise<number> {
	const [row] = await db
		.select({ n: count() })
		.from(modelVersions)
		.where(eq(modelVersions.tenantId, tenant));
	return Number(row?.n ?? 0);
}

/** Stored bytes per tenant (every tenant, or one): distinct model files, and datasets. */
export async function storedBytes(db: Db, tenant?: string): Promise<TenantStoredBytes[]> {
	const files = await db
		.selectDistinct({
			tenant: modelVersions.tenantId,
			sha256: modelVersions.artifactSha256,
			size: modelVersions.artifactSize,
		})
		.from(modelVersions)
		.where(
			and(
				isNotNull(modelVersions.artifactSha256),
				tenant !== undefined ? eq(modelVersions.tenantId, tenant) : undefined,
			),
		);
	const sets = await db
		.selectDistinct({ tenant: datasets.tenantId, sha256: datasets.sha256, size: datasets.size })
		.from(datasets)
		.where(tenant !== undefined ? eq(datasets.tenantId, tenant) : undefined);
	const byTenant = new Map<string, TenantStoredBytes>();
	const entry = (id: string): TenantStoredBytes => {
		let e = byTenant.get(id);
		if (e === undefined) {
			e = { tenant: id, artifactsBytes: 0, datasetsBytes: 0, capturesBytes: 0 };
			byTenant.set(id, e);
		}
		return e;
	};
	for (const file of files) entry(file.tenant).artifactsBytes += Number(file.size ?? 0);
	for (const set of sets) entry(set.tenant).datasetsBytes += Number(set.size);
	return [...byTenant.values()];
}

/** The bytes one tenant holds: model files and datasets together. */
export async function tenantStoredBytes(db: Db, tenant: string): Promise<number> {
	const [held] = await storedBytes(db, tenant);
	return held === undefined ? 0 : held.artifactsBytes + held.datasetsBytes;
}
