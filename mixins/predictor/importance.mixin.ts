/**
 * `predictor.importance`: a version's global importance (permutation importance) against a
 * named, labelled dataset, computed here where the version is loaded
 * (lib/explain/version-importance.ts), then kept with the version (`details.importance`,
 * through `registry.versions.update` as the caller) and answered. Trained versions get theirs
 * from the trainer; this is for versions imported from a file, or to measure on other data.
 */
import type { ServiceSchema } from "moleculer";
import { requires, scopeOf } from "../../lib/accounts/access";
import { DatasetRows } from "../../lib/explain/dataset-rows";
import {
	IMPORTANCE_PARAMS,
	versionImportance,
	type VersionImportanceParams,
} from "../../lib/explain/version-importance";
import { SERVICE } from "../../lib/fleet/node-role";
import type { VersionView } from "../../lib/registry/version-store";
import { MODEL_REPLICA_STRATEGY } from "../../lib/routing/model-replica-strategy";
import { MODEL_REF_RULE, type Ctx } from "../params";
import { datasetDeps } from "./explain.mixin";
import { deadlineOf, type PredictorParts } from "./predictor-parts";

export function importanceMixin(parts: PredictorParts): Partial<ServiceSchema> {
	const datasetRows = new DatasetRows();
	return {
		actions: {
			importance: requires("models.write", {
				strategy: MODEL_REPLICA_STRATEGY,
				params: {
					model: MODEL_REF_RULE,
					version: { type: "string", optional: true, max: 128 },
					...IMPORTANCE_PARAMS,
				},
				async handler(
					ctx: Ctx<{ model: string; version?: string } & VersionImportanceParams>,
				) {
					const scope = scopeOf(ctx);
					(ctx.meta as { servedBy?: string }).servedBy = this.broker.nodeID;
					const { model, version, ...params } = ctx.params;
					const deadline = deadlineOf(ctx, parts);
					const measured = await parts
						.predictor()
						.use(
							parts.deps(ctx),
							{ tenant: scope.tenantId, model, version },
							async (served, resolved) => {
								const record = await ctx.call<{ task: string }, { name: string }>(
									`${SERVICE.registry}.models.get`,
									{ name: resolved.model },
								);
								const importance = await versionImportance(
									{
										model: served,
										version: resolved,
										task: record.task,
										deadline,
										loadRows: source =>
											datasetRows.labelled(
												datasetDeps(ctx, parts),
												served,
												source,
											),
									},
									params,
								);
								return {
									model: resolved.model,
									version: resolved.version,
									importance,
								};
							},
						);
					// Kept with the version, as the caller (who may write models: the role above).
					const stored = await ctx.call<VersionView, Record<string, unknown>>(
						`${SERVICE.registry}.versions.update`,
						measured,
					);
					return {
						model: stored.model,
						version: stored.version,
						importance: measured.importance,
					};
				},
			}),
		},
	};
}
