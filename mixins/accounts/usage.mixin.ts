/**
 * The accounts service's metering part: `usage.record` applies the nodes' flushes (once per
 * flush key), `usage.get` answers the usage report (JSON, or CSV for `Accept: text/csv`), and
 * a timer records each tenant's stored bytes for the day (asked of the registry).
 */
import type { ServiceSchema } from "moleculer";
import { fleetInternal, requires, scopeOf } from "../../lib/accounts/access";
import { SERVICE } from "../../lib/fleet/node-role";
import { dayOf } from "../../lib/metering/usage-counts";
import type { FlushRecord } from "../../lib/metering/usage-meter";
import { rollUp, usageCsv, usageRange } from "../../lib/metering/usage-query";
import type { StoredBytes, UsageStore } from "../../lib/metering/usage-store";
import type { TenantAccessMethods } from "../tenant-access.mixin";
import type { Ctx } from "../params";

export interface UsageOptions {
	store: UsageStore;
	/** How often stored bytes are measured, ms; 0: never. */
	storageIntervalMs: number;
	now?: () => number;
}

interface UsageQueryParams {
	from?: string;
	to?: string;
	granularity?: string;
	model?: string;
	tenant?: string;
}

/** The counters of a flush row, each a whole number ≥ 0. */
const COUNT = { type: "number", integer: true, min: 0 } as const;

/** What the gateway passes on for `usage.get`: the Accept header (CSV or JSON). */
interface UsageMeta {
	accept?: string;
	$responseType?: string;
}

/** Flush keys are kept this long: no node retries a flush for longer (its pending list is bounded). */
const FLUSH_KEYS_KEPT_MS = 7 * 86_400_000;

export function usageMixin(options: UsageOptions): Partial<ServiceSchema> {
	// Long because it is a mixin schema (a declaration, not a procedure): the usage.record and
	// usage.get actions with their parameter rules, and the stored-bytes timer.
	const now = options.now ?? Date.now;
	let timer: NodeJS.Timeout | null = null;
	let firstMeasure: NodeJS.Timeout | null = null;
	/** Set once the service stops: a measurement still under way then says nothing. */
	let stopped = false;
	return {
		actions: {
			/** A node's flush of its meter (lib/metering/usage-meter.ts); a repeated key adds nothing. */
			"usage.record": fleetInternal({
				params: {
					node: { type: "string", min: 1, max: 256 },
					incarnation: { type: "string", min: 1, max: 64 },
					seq: { type: "number", integer: true, min: 1 },
					rows: {
						type: "array",
						max: 100_000,
						items: {
							type: "object",
							props: {
								tenant: { type: "string", max: 64 },
								model: { type: "string", max: 256 },
								version: { type: "string", max: 128 },
								hour: { type: "date", convert: true },
								requests: COUNT,
								rows: COUNT,
								errors: COUNT,
								cpuMs: COUNT,
								gpuMs: COUNT,
								bytesIn: COUNT,
								bytesOut: COUNT,
								trainingCpuS: COUNT,
								trainingGpuS: COUNT,
							},
						},
					},
				},
				async handler(ctx: Ctx<FlushRecord>) {
					const applied = await options.store.applyFlush(ctx.params);
					return { applied };
				},
			}),

			/**
			 * The caller's tenant's usage in [from, to) per hour or day (model, version); with
			 * granularity=day also its stored bytes per day. An admin tenant's owner may name
			 * another `tenant`, or `*` for every tenant.
			 */
			"usage.get": requires("usage.read", {
				params: {
					from: { type: "string", optional: true, max: 64 },
					to: { type: "string", optional: true, max: 64 },
					granularity: { type: "string", optional: true, max: 8 },
					model: { type: "string", optional: true, min: 1, max: 256 },
					// A tenant's id, or * for every tenant (anything else would reach the database).
					tenant: {
						type: "string",
						optional: true,
						pattern:
							/^(\*|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i,
					},
				},
				async handler(ctx: Ctx<UsageQueryParams>) {
					const scope = scopeOf(ctx);
					let tenant: string | null = scope.tenantId;
					if (ctx.params.tenant !== undefined && ctx.params.tenant !== scope.tenantId) {
						await (this as unknown as TenantAccessMethods).requireAdminTenant(
							ctx,
							"read other tenants' usage",
						);
						tenant = ctx.params.tenant === "*" ? null : ctx.params.tenant;
					}
					const range = usageRange(ctx.params, now());
					const query = { tenant, from: range.from, to: range.to };
					const rows = rollUp(
						await options.store.hourly({
							...query,
							...(ctx.params.model !== undefined ? { model: ctx.params.model } : {}),
						}),
						range.granularity,
					);
					const meta = ctx.meta as UsageMeta;
					if (meta.accept !== undefined && /\btext\/csv\b/i.test(meta.accept)) {
						meta.$responseType = "text/csv; charset=utf-8";
						return usageCsv(rows);
					}
					return {
						tenant: tenant ?? "*",
						from: range.from.toISOString(),
						to: range.to.toISOString(),
						granularity: range.granularity,
						usage: rows,
						storage:
							range.granularity === "day" ? await options.store.storage(query) : [],
					};
				},
			}),
		},

		async started() {
			if (options.storageIntervalMs <= 0) return;
			stopped = false;
			const measure = async (): Promise<void> => {
				if (stopped) return;
				try {
					const snapshot = await this.broker.call<StoredBytes[]>(
						`${SERVICE.registry}.storedBytes`,
					);
					await options.store.recordStorage(new Date(dayOf(now())), snapshot);
					await options.store.pruneFlushes(new Date(now() - FLUSH_KEYS_KEPT_MS));
				} catch (err) {
					// A measurement cut short by this node stopping is no news.
					if (!stopped)
						this.logger.warn(`Stored bytes not measured: ${(err as Error).message}`);
				}
			};
			timer = setInterval(() => void measure(), options.storageIntervalMs);
			timer.unref();
			// A first figure soon after start, not an interval later (the registry may still be starting).
			firstMeasure = setTimeout(
				() => void measure(),
				Math.min(options.storageIntervalMs, 5000),
			);
			firstMeasure.unref();
		},

		stopped() {
			stopped = true;
			if (timer !== null) clearInterval(timer);
			if (firstMeasure !== null) clearTimeout(firstMeasure);
			timer = null;
			firstMeasure = null;
		},
	};
}
