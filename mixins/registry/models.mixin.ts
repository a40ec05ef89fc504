/**
 * The registry's models: create, get, list, update, delete, scoped to the caller's tenant.
 * Every change is audited in its own transaction and announced by an event after it commits.
 */
import type { ServiceSchema } from "moleculer";
import { requires, scopeOf, type Scope } from "../../lib/accounts/access";
import { audited } from "../../lib/audit/audited";
import { EVENTS, type ModelEvent } from "../../lib/events";
import {
	MODEL_FRAMEWORKS,
	MODEL_TASKS,
	type ModelInput,
	type ModelPatch,
	type ModelQuery,
	type ModelView,
} from "../../lib/registry/model-store";
import { countModels } from "../../lib/registry/tenant-usage";
import { PAGE_PARAMS, type Ctx } from "../params";
import {
	MODEL_NAME_RULE,
	TAGS_RULE,
	type RegistryStores,
	type RegistryThis,
} from "./registry-parts";

const modelEvent = (scope: Scope, model: ModelView): ModelEvent => ({
	tenant: scope.tenantId,
	keyId: scope.keyId,
	model: model.name,
	modelId: model.id,
});

/** Needs the domain-events mixin. */
export function modelsMixin({ db, models }: RegistryStores): Partial<ServiceSchema> {
	// Long because it is a mixin schema (a declaration, not a procedure): the models.* actions,
	// each a params rule and a short handler.
	return {
		actions: {
			"models.create": requires("models.write", {
				params: {
					name: MODEL_NAME_RULE,
					description: { type: "string", optional: true, max: 4096 },
					task: { type: "enum", values: [...MODEL_TASKS] },
					framework: { type: "enum", values: [...MODEL_FRAMEWORKS] },
					tags: TAGS_RULE,
				},
				async handler(ctx: Ctx<ModelInput>) {
					const scope = scopeOf(ctx);
					const model = await audited(
						db,
						scope,
						"models.create",
						`model:${ctx.params.name}`,
						async () => {
							const self = this as unknown as RegistryThis;
							await self.enforceQuota(
								ctx,
								"models",
								() => countModels(db, scope.tenantId),
								1,
							);
							return models.create(scope, ctx.params);
						},
					);
					const self = this as unknown as RegistryThis;
					void self.emitEvent(EVENTS.modelCreated, modelEvent(scope, model), ctx);
					return model;
				},
			}),

			"models.get": requires("models.read", {
				params: { name: { type: "string", max: 256 } },
				handler(ctx: Ctx<{ name: string }>) {
					return models.get(scopeOf(ctx), ctx.params.name);
				},
			}),

			"models.list": requires("models.read", {
				params: {
					tag: { type: "string", optional: true, max: 320 },
					task: { type: "enum", values: [...MODEL_TASKS], optional: true },
					prefix: { type: "string", optional: true, max: 128 },
					...PAGE_PARAMS,
				},
				handler(ctx: Ctx<ModelQuery>) {
					return models.list(scopeOf(ctx), ctx.params);
				},
			}),

			"models.update": requires("models.write", {
				params: {
					name: { type: "string", max: 256 },
					description: { type: "string", optional: true, max: 4096 },
					task: { type: "enum", values: [...MODEL_TASKS], optional: true },
					framework: { type: "enum", values: [...MODEL_FRAMEWORKS], optional: true },
					tags: { ...TAGS_RULE, value: { type: "string", max: 256, nullable: true } },
				},
				async handler(ctx: Ctx<ModelPatch & { name: string }>) {
					const scope = scopeOf(ctx);
					const { name, ...patch } = ctx.params;
					const model = await audited(db, scope, "models.update", `model:${name}`, () =>
						models.update(scope, name, patch),
					);
					const self = this as unknown as RegistryThis;
					void self.emitEvent(EVENTS.modelUpdated, modelEvent(scope, model), ctx);
					return model;
				},
			}),

			"models.delete": requires("models.write", {
				params: { name: { type: "string", max: 256 } },
				async handler(ctx: Ctx<{ name: string }>) {
					const scope = scopeOf(ctx);
					const { name } = ctx.params;
					const model = await audited(db, scope, "models.delete", `model:${name}`, () =>
						models.delete(scope, name),
					);
					const self = this as unknown as RegistryThis;
					void self.emitEvent(EVENTS.modelDeleted, modelEvent(scope, model), ctx);
					return model;
				},
			}),
		},
	};
}
