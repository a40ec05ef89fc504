/**
 * `predictor.explain`: explains predictions (lib/explain/explain-model.ts) — TreeSHAP for
 * XGBoost, KernelSHAP for any format — here, where the version is loaded (its trees, its
 * runtime), with background rows from the caller's datasets.
 */
import type { ServiceSchema } from "moleculer";
import { requires, scopeOf } from "../../lib/accounts/access";
import { DatasetRows, type DatasetRowsDeps } from "../../lib/explain/dataset-rows";
import {
	EXPLAIN_PARAMS,
	explainPrediction,
	type ExplainParams,
} from "../../lib/explain/explain-model";
import { SERVICE } from "../../lib/fleet/node-role";
import type { DatasetView } from "../../lib/registry/dataset-store";
import { MODEL_REPLICA_STRATEGY } from "../../lib/routing/model-replica-strategy";
import { MODEL_REF_RULE, type Ctx } from "../params";
import { deadlineOf, type PredictorParts } from "./predictor-parts";

/** The caller's datasets and this node's blobs, for dataset rows (explain, importance). */
export function datasetDeps(ctx: Ctx<unknown>, parts: PredictorParts): DatasetRowsDeps {
	return {
		getDataset: ref =>
			ctx.call<DatasetView, { ref: string }>(`${SERVICE.registry}.datasets.get`, { ref }),
		readBlob: sha256 => parts.blobs().read(sha256),
	};
}

export function explainMixin(parts: PredictorParts): Partial<ServiceSchema> {
	const datasetRows = new DatasetRows();
	return {
		actions: {
			explain: requires("predict", {
				strategy: MODEL_REPLICA_STRATEGY,
				params: {
					model: MODEL_REF_RULE,
					version: { type: "string", optional: true, max: 128 },
					...EXPLAIN_PARAMS,
				},
				async handler(ctx: Ctx<{ model: string; version?: string } & ExplainParams>) {
					const scope = scopeOf(ctx);
					(ctx.meta as { servedBy?: string }).servedBy = this.broker.nodeID;
					const { model, version, ...params } = ctx.params;
					const deadline = deadlineOf(ctx, parts);
					return parts
						.predictor()
						.use(
							parts.deps(ctx),
							{ tenant: scope.tenantId, model, version },
							(served, resolved) =>
								explainPrediction(
									{
										model: served,
										version: resolved,
										deadline,
										loadDatasetRows: datasetRows.loader(
											datasetDeps(ctx, parts),
											served,
										),
									},
									params,
								),
						);
				},
			}),
		},
	};
}
