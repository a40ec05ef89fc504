/**
 * `predictor.statistics`: this node's Triton statistics (lib/predictor/model-statistics.ts)
 * for the caller's tenant — all its model versions, one model's, or one version's. The
 * gateway asks every predictor node and adds the answers up (`GET /v2/models[/{m}[/versions/{v}]]/stats`).
 */
import type { ServiceSchema } from "moleculer";
import { requires, scopeOf } from "../../lib/accounts/access";
import type { ModelStat, ModelStatistics } from "../../lib/predictor/model-statistics";
import type { Ctx } from "../params";

export function statisticsMixin(statistics: ModelStatistics): Partial<ServiceSchema> {
	return {
		actions: {
			statistics: requires("models.read", {
				params: {
					model: { type: "string", optional: true, max: 256 },
					version: { type: "string", optional: true, max: 128 },
				},
				handler(ctx: Ctx<{ model?: string; version?: string }>): {
					nodeID: string;
					model_stats: ModelStat[];
				} {
					const { model, version } = ctx.params;
					return {
						nodeID: this.broker.nodeID,
						model_stats: statistics.snapshot(scopeOf(ctx).tenantId, {
							...(model !== undefined ? { model } : {}),
							...(version !== undefined ? { version } : {}),
						}),
					};
				},
			}),
		},
	};
}
