/**
 * What the registry's mixins share: the stores on the registry's tables, handed in by
 * services/registry.service.ts, how the service looks from inside a `requires` action, the
 * caller's artifact calls, and the rules of model names and tags.
 */
import type { Context, Service } from "moleculer";
import { scopeOf, type RequestMeta } from "../../lib/accounts/access";
import type { ArtifactCall } from "../../lib/artifacts/artifact-protocol";
import type { Database } from "../../lib/db/database";
import { MODEL_NAME_PATTERN } from "../../lib/model-spec/model-name";
import type { DatasetStore } from "../../lib/registry/dataset-store";
import type { ModelStore } from "../../lib/registry/model-store";
import { countVersions, tenantStoredBytes } from "../../lib/registry/tenant-usage";
import type { VersionStore } from "../../lib/registry/version-store";
import type { DomainEventMethods } from "../domain-events.mixin";
import type { QuotaGuardMethods } from "../quota-guard.mixin";

export interface RegistryStores {
	db: Database["db"];
	models: ModelStore;
	versions: VersionStore;
	datasets: DatasetStore;
}

/**
 * The registry service as its actions see it: it emits domain events (domain-events mixin) and
 * enforces the tenant's size quotas (quota-guard mixin).
 */
export type RegistryThis = Service & DomainEventMethods & QuotaGuardMethods;

/** Calls for the caller of `ctx`: its tenant travels in the meta, so artifacts answer for it. */
export function callerOf(ctx: Context): ArtifactCall {
	return (action, params, options) => ctx.call(action, params, options);
}

/** A new model's (or alias's model's) name. */
export const MODEL_NAME_RULE = { type: "string", pattern: MODEL_NAME_PATTERN } as const;

export const TAGS_RULE = {
	type: "record",
	optional: true,
	key: { type: "string", min: 1, max: 64 },
	value: { type: "string", max: 256 },
} as const;

/**
 * The size quotas a new version counts against: one more version, and `bytes` more stored (1
 * when the file's size is not known yet: a tenant at its limit stores no more).
 */
export async function versionQuotas(
	self: RegistryThis,
	ctx: Context<unknown, RequestMeta>,
	db: Database["db"],
	bytes: number,
): Promise<void> {
	const tenant = scopeOf(ctx).tenantId;
	await self.enforceQuota(ctx, "versions", () => countVersions(db, tenant), 1);
	await self.enforceQuota(ctx, "storedBytes", () => tenantStoredBytes(db, tenant), bytes);
}
