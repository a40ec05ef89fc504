/**
 * Who may name which blob. Content addressing must not become a capability: a call acting for a
 * tenant (`ctx.meta.tenant`) reaches only the blobs that tenant stored or that were made for it,
 * and another tenant's blob answers exactly as a hash never stored does (NOT_FOUND). Dedupe
 * stays inside the store: the first time a tenant stores bytes it hears `created: true`,
 * whoever stored them before.
 *
 * A call without a tenant is the fleet's own (a predictor loading a version the registry
 * resolved, a trainer reading the dataset of its job): it reaches every blob. Without
 * ownership records (a bare store in tests and tools) nothing is scoped.
 */
import { NotFoundError } from "../errors";
import type { ArtifactOwners } from "./artifact-owners";
import type { StoredArtifact } from "./artifact-protocol";

export class ArtifactAccess {
	constructor(private readonly owners: ArtifactOwners | null) {}

	/** Passes when the tenant may name the blob; NOT_FOUND, worded as for an unknown hash, otherwise. */
	async require(tenant: string | undefined, sha256: string): Promise<void> {
		if (this.owners === null || tenant === undefined) return;
		if (!(await this.owners.owns(tenant, sha256))) throw new NotFoundError("artifact", sha256);
	}

	/**
	 * Records a stored blob for the tenant that stored it, and answers the put as that tenant
	 * sees it: `created` is whether the tenant held these bytes before, not whether the store did.
	 */
	async stored(tenant: string | undefined, result: StoredArtifact): Promise<StoredArtifact> {
		if (this.owners === null || tenant === undefined) return result;
		const created = await this.owners.claim(tenant, result.sha256);
		return { ...result, created };
	}

	/** Forgets who held a blob garbage collection is deleting. */
	async forget(sha256: string): Promise<void> {
		await this.owners?.forget(sha256);
	}
}
