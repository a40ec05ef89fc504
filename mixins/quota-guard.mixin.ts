/**
 * Size quotas where the change is made (registry: models, versions, stored bytes; scheduler:
 * deployments, replicas, GPUs, concurrent training jobs): `enforceQuota` asks accounts for the
 * tenant's quotas, counts the current use only when the quota is set, and refuses with 403
 * `RESOURCE_LIMIT_EXCEEDED` and the `tenant.resource_limit_exceeded` event. The check runs
 * before the change, outside its transaction: requests racing each other may together overshoot
 * a quota by those in flight. When accounts cannot be asked, the change is allowed (and logged).
 */
import type { Context, ServiceSchema } from "moleculer";
import { scopeOf, type RequestMeta } from "../lib/accounts/access";
import { ResourceLimitExceededError } from "../lib/errors";
import { EVENTS } from "../lib/events";
import { SERVICE } from "../lib/fleet/node-role";
import { decideSize } from "../lib/quotas/quota-decision";
import type { QuotaName, Quotas } from "../lib/quotas/quota-spec";
import type { DomainEventMethods } from "./domain-events.mixin";

export interface QuotaGuardMethods {
	/**
	 * Throws ResourceLimitExceededError (403) when adding `adding` to the caller's tenant's
	 * current use of `quota` (counted by `current`, only when the quota is set) would exceed it.
	 */
	enforceQuota(
		ctx: Context<unknown, RequestMeta>,
		quota: QuotaName,
		current: () => Promise<number>,
		adding: number,
	): Promise<void>;
}

/** Needs the domain-events mixin. */
export function quotaGuardMixin(): Partial<ServiceSchema> {
	const methods: QuotaGuardMethods &
		ThisType<
			DomainEventMethods & {
				broker: Context["broker"];
				logger: { warn(message: string): void };
			}
		> = {
		async enforceQuota(ctx, quota, current, adding) {
			if (adding <= 0) return;
			const scope = scopeOf(ctx);
			let quotas: Quotas;
			try {
				// Under this node's own identity: any tenant's quotas are the enforcer's to read.
				quotas = await this.broker.call<Quotas, { tenant: string }>(
					`${SERVICE.accounts}.quotas.ofTenant`,
					{ tenant: scope.tenantId },
				);
			} catch (err) {
				// Quotas that cannot be read (accounts unreachable) do not stop the change: said, then allowed.
				this.logger.warn(`Quota '${quota}' not checked: ${(err as Error).message}`);
				return;
			}
			if (quotas[quota] === undefined) return;
			const refusal = decideSize(quotas, quota, await current(), adding);
			if (refusal === null) return;
			void this.emitEvent(
				EVENTS.resourceLimitExceeded,
				{
					tenant: scope.tenantId,
					keyId: scope.keyId,
					nodeID: this.broker.nodeID,
					quota: refusal.quota,
					kind: refusal.kind,
					limit: refusal.limit,
					current: refusal.current,
				},
				ctx,
			);
			throw new ResourceLimitExceededError(
				refusal.quota,
				refusal.kind,
				refusal.limit,
				refusal.current,
			);
		},
	};
	return { methods } as unknown as Partial<ServiceSchema>;
}
