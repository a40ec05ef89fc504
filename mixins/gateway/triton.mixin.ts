/**
 * Triton's HTTP extensions on the gateway, besides inference and the model repository: model
 * configuration (`GET /v2/models/{m}[/versions/{v}]/config`, lib/http/oip-model-config.ts)
 * and statistics (`GET /v2/models[/{m}[/versions/{v}]]/stats`): every predictor node counts
 * what it serves (predictor.statistics); the gateway asks them all, for the caller's tenant,
 * and adds their answers up, so the counts are the fleet's whatever node served a request.
 */
import type { ServiceSchema } from "moleculer";
import { requires } from "../../lib/accounts/access";
import { SERVICE } from "../../lib/fleet/node-role";
import { oipVersionRef } from "../../lib/http/oip-http";
import { tritonModelConfig, type TritonModelConfig } from "../../lib/http/oip-model-config";
import {
	emptyModelStat,
	mergeModelStats,
	type ModelStat,
} from "../../lib/predictor/model-statistics";
import type { VersionView } from "../../lib/registry/version-store";
import type { HttpContext } from "./http-context";

type ModelRef = { model?: string; version?: string };

const REF_PARAMS = {
	model: { type: "string", optional: true, min: 1, max: 256 },
	version: { type: "string", optional: true, min: 1, max: 128 },
} as const;

export function tritonMixin(): Partial<ServiceSchema> {
	return {
		actions: {
			/** `GET /v2/models/{model}[/versions/{version}]/config`: Triton's ModelConfig of the version. */
			v2ModelConfig: requires("models.read", {
				params: REF_PARAMS,
				async handler(ctx: HttpContext<ModelRef>): Promise<TritonModelConfig> {
					const version = await ctx.call<
						VersionView,
						{ model: string; version?: string }
					>(
						`${SERVICE.registry}.versions.get`,
						oipVersionRef({ ...ctx.params, model: ctx.params.model ?? "" }),
					);
					return tritonModelConfig(version);
				},
			}),

			/**
			 * `GET /v2/models[/{model}[/versions/{version}]]/stats`: the fleet's counts, per model
			 * version of the caller's tenant. A model named gets an entry for each of its versions
			 * (zeros for one nothing served yet); unknown ones answer 404.
			 */
			v2Stats: requires("models.read", {
				params: REF_PARAMS,
				async handler(ctx: HttpContext<ModelRef>): Promise<{ model_stats: ModelStat[] }> {
					let filter: { model?: string; version?: string } = {};
					let known: VersionView[] = [];
					if (ctx.params.model !== undefined) {
						const ref = oipVersionRef({ ...ctx.params, model: ctx.params.model });
						const version = await ctx.call<VersionView, typeof ref>(
							`${SERVICE.registry}.versions.get`,
							ref,
						);
						filter = { model: version.model };
						if (ref.version !== undefined) {
							filter.version = version.version;
							known = [version];
						} else {
							known = (
								await ctx.call<
									{ items: VersionView[] },
									{ model: string; limit: number }
								>(`${SERVICE.registry}.versions.list`, {
									model: version.model,
									limit: 500,
								})
							).items;
						}
					}
					const nodes = [
						...new Set(
							this.broker.registry
								.getServiceList({ onlyAvailable: true, skipInternal: true })
								.filter(s => s.name === SERVICE.predictor)
								.map(s => String((s as { nodeID?: string }).nodeID)),
						),
					];
					const answers = await Promise.all(
						nodes.map(nodeID =>
							ctx
								.call<{ model_stats: ModelStat[] }, typeof filter>(
									`${SERVICE.predictor}.statistics`,
									filter,
									{ nodeID },
								)
								.then(answer => answer.model_stats)
								// A node that left meanwhile has nothing more to say.
								.catch(() => [] as ModelStat[]),
						),
					);
					const zeros = known.map(v => [emptyModelStat(v.model, v.version)]);
					return { model_stats: mergeModelStats([...answers, ...zeros]) };
				},
			}),
		},
	};
}
