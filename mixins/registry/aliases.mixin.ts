/**
 * The registry's aliases (`champion` → a version of a model) and the audit log: setting and
 * deleting an alias is audited and announced after it commits; `audit.list` pages the log.
 */
import type { ServiceSchema } from "moleculer";
import { requires, scopeOf } from "../../lib/accounts/access";
import { audited } from "../../lib/audit/audited";
import { listAudit } from "../../lib/audit/audit-log";
import { EVENTS } from "../../lib/events";
import { sequenceNumber } from "../../lib/registry/registry-scope";
import { formatRef } from "../../lib/registry/version-ref";
import { PAGE_PARAMS, type Ctx, type PageParams } from "../params";
import { MODEL_NAME_RULE, type RegistryStores, type RegistryThis } from "./registry-parts";

const ALIAS_RULE = { type: "string", min: 1, max: 64 } as const;

/** Needs the domain-events mixin. */
export function aliasesMixin({ db, versions }: RegistryStores): Partial<ServiceSchema> {
	// Long because it is a mixin schema (a declaration, not a procedure): the aliases.set,
	// aliases.delete, aliases.list and audit.list actions, each a few lines.
	return {
		actions: {
			"aliases.set": requires("models.write", {
				params: {
					model: MODEL_NAME_RULE,
					alias: ALIAS_RULE,
					version: { type: "string", min: 1, max: 128 },
				},
				async handler(ctx: Ctx<{ model: string; alias: string; version: string }>) {
					const scope = scopeOf(ctx);
					const { model, alias, version } = ctx.params;
					const moved = await audited(
						db,
						scope,
						"aliases.set",
						`alias:${formatRef(model, alias)}`,
						() => versions.setAlias(scope, model, alias, version),
					);
					const self = this as unknown as RegistryThis;
					const payload = {
						tenant: scope.tenantId,
						keyId: scope.keyId,
						model,
						alias,
						version: moved.version,
						previous: moved.previous,
					};
					void self.emitEvent(EVENTS.aliasMoved, payload, ctx);
					return moved;
				},
			}),

			"aliases.delete": requires("models.write", {
				params: { model: MODEL_NAME_RULE, alias: ALIAS_RULE },
				async handler(ctx: Ctx<{ model: string; alias: string }>) {
					const scope = scopeOf(ctx);
					const { model, alias } = ctx.params;
					const deleted = await audited(
						db,
						scope,
						"aliases.delete",
						`alias:${formatRef(model, alias)}`,
						() => versions.deleteAlias(scope, model, alias),
					);
					const self = this as unknown as RegistryThis;
					const payload = {
						tenant: scope.tenantId,
						keyId: scope.keyId,
						model,
						alias,
						version: null,
						previous: null,
					};
					void self.emitEvent(EVENTS.aliasDeleted, payload, ctx);
					return deleted;
				},
			}),

			"aliases.list": requires("models.read", {
				params: { model: MODEL_NAME_RULE },
				handler(ctx: Ctx<{ model: string }>) {
					return versions.listAliases(scopeOf(ctx), ctx.params.model);
				},
			}),

			"audit.list": requires("audit.read", {
				params: {
					target: { type: "string", optional: true, max: 512 },
					action: { type: "string", optional: true, max: 128 },
					...PAGE_PARAMS,
				},
				handler(ctx: Ctx<{ target?: string; action?: string } & PageParams>) {
					const { cursor, ...query } = ctx.params;
					// The audit log pages by row id, in decimal: one a bigint holds and a double keeps.
					const before = cursor !== undefined ? sequenceNumber(cursor) : undefined;
					return listAudit(db, scopeOf(ctx).tenantId, { ...query, before });
				},
			}),
		},
	};
}
