/**
 * The registry's datasets: each upload the gateway parsed and stored for the caller's tenant
 * becomes the next immutable version under its name; read by id, sha256 or `name[@version]`.
 */
import type { ServiceSchema } from "moleculer";
import { requires, scopeOf } from "../../lib/accounts/access";
import { requireArtifacts } from "../../lib/artifacts/artifact-check";
import { MODEL_NAME_PATTERN } from "../../lib/model-spec/model-name";
import type { DatasetInput } from "../../lib/registry/dataset-store";
import { tenantStoredBytes } from "../../lib/registry/tenant-usage";
import { PAGE_PARAMS, type Ctx, type PageParams } from "../params";
import { callerOf, type RegistryStores, type RegistryThis } from "./registry-parts";

export function datasetsMixin({ db, datasets }: RegistryStores): Partial<ServiceSchema> {
	return {
		actions: {
			/**
			 * Records an uploaded dataset (the gateway has parsed and stored it for the caller's
			 * tenant): the next version under its name, immutable.
			 */
			"datasets.create": requires("train", {
				params: {
					name: { type: "string", pattern: MODEL_NAME_PATTERN },
					sha256: { type: "string", pattern: /^[0-9a-f]{64}$/ },
					size: { type: "number", integer: true, min: 0 },
					format: { type: "enum", values: ["csv", "ndjson"] },
					labelColumn: { type: "string", optional: true, nullable: true, max: 256 },
					rows: { type: "number", integer: true, min: 0 },
					report: { type: "object" },
				},
				async handler(ctx: Ctx<DatasetInput>) {
					const scope = scopeOf(ctx);
					await requireArtifacts(callerOf(ctx), [ctx.params.sha256]);
					await (this as unknown as RegistryThis).enforceQuota(
						ctx,
						"storedBytes",
						() => tenantStoredBytes(db, scope.tenantId),
						ctx.params.size,
					);
					return datasets.create(scope, {
						...ctx.params,
						labelColumn: ctx.params.labelColumn ?? null,
					});
				},
			}),

			/** A dataset by id, sha256 or `name[@version]` (latest). */
			"datasets.get": requires("models.read", {
				params: { ref: { type: "string", min: 1, max: 300 } },
				handler(ctx: Ctx<{ ref: string }>) {
					return datasets.get(scopeOf(ctx), ctx.params.ref);
				},
			}),

			"datasets.list": requires("models.read", {
				params: { name: { type: "string", optional: true, max: 128 }, ...PAGE_PARAMS },
				handler(ctx: Ctx<{ name?: string } & PageParams>) {
					return datasets.list(scopeOf(ctx), ctx.params);
				},
			}),
		},
	};
}
