/**
 * Which tenant holds which blob. The store keeps one copy of identical bytes whoever uploads
 * them; these records are what let a tenant name a blob by its hash (artifact-access.ts). The
 * artifacts service is their only writer.
 */
import { and, eq } from "drizzle-orm";
import type { Db } from "../db/database";
import { artifactOwners } from "../db/schema";

/** The ownership records, as the artifacts service uses them; tests hand in a fake. */
export interface ArtifactOwners {
	/** Records that the tenant holds the blob; true when it did not before. */
	claim(tenantId: string, sha256: string): Promise<boolean>;
	/** Whether the tenant holds the blob. */
	owns(tenantId: string, sha256: string): Promise<boolean>;
	/** Forgets every holder of a blob garbage collection deletes. */
	forget(sha256: string): Promise<void>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The records in the metadata database (table `artifact_owners`). */
export class ArtifactOwnerStore implements ArtifactOwners {
	constructor(private readonly db: Db) {}

	async claim(tenantId: string, sha256: string): Promise<boolean> {
		// A tenant id that is no uuid names no tenant: nothing to record (PostgreSQL would refuse it).
		if (!UUID.test(tenantId)) return false;
		const rows = await this.db
			.insert(artifactOwners)
			.values({ tenantId, sha256 })
			.onConflictDoNothing()
			.returning({ sha256: artifactOwners.sha256 });
		return rows.length > 0;
	}

	async owns(tenantId: string, sha256: string): Promise<boolean> {
		if (!UUID.test(tenantId)) return false;
		const rows = await this.db
			.select({ sha256: artifactOwners.sha256 })
			.from(artifactOwners)
			.where(and(eq(artifactOwners.tenantId, tenantId), eq(artifactOwners.sha256, sha256)))
			.limit(1);
		return rows.length > 0;
	}

	async forget(sha256: string): Promise<void> {
		await this.db.delete(artifactOwners).where(eq(artifactOwners.sha256, sha256));
	}
}
