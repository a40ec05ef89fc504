/**
 * The events service's webhook actions: a tenant's endpoints (create, list, get, update with an
 * optional new secret, delete), each endpoint's delivery log, and redelivery by id. A target is
 * checked when registered and changed — http(s), no credentials, and (unless the installation
 * allows it) every address its host resolves to public — and again at every delivery.
 */
import type { ServiceSchema } from "moleculer";
import { requires, scopeOf } from "../../lib/accounts/access";
import { isKnownTypePattern } from "../../lib/domain-events/cloud-event";
import { newWebhookSecret } from "../../lib/domain-events/webhook-sender";
import type {
	DeliveryState,
	EndpointInput,
	WebhookStore,
} from "../../lib/domain-events/webhook-store";
import { checkedAddresses, targetUrlProblem } from "../../lib/domain-events/webhook-target";
import { InvalidInputError } from "../../lib/errors";
import { PAGE_PARAMS, type Ctx, type PageParams } from "../params";

export interface WebhooksOptions {
	store: WebhookStore;
	allowPrivate: boolean;
	retryForMs: number;
	/** A delivery was queued again: look at the outbox now. */
	nudge: () => void;
}

const URL_RULE = { type: "string", min: 1, max: 2048 } as const;
const TYPES_RULE = {
	type: "array",
	min: 1,
	max: 64,
	items: { type: "string", min: 1, max: 128 },
} as const;
const ID_PARAM = { id: { type: "string", min: 1, max: 64 } } as const;

async function checkTarget(url: string, allowPrivate: boolean): Promise<void> {
	const problem = targetUrlProblem(url);
	if (problem) throw new InvalidInputError(problem, { where: "url" });
	const addresses = await checkedAddresses(new URL(url).hostname, allowPrivate);
	if (typeof addresses === "string") throw new InvalidInputError(addresses, { where: "url" });
}

function checkTypes(types: readonly string[]): void {
	const unknown = types.filter(t => !isKnownTypePattern(t));
	if (unknown.length > 0)
		throw new InvalidInputError(
			`No event type matches ${unknown.map(t => `'${t}'`).join(", ")}: name event types such as 'model.deployed', 'training.*' or '*' (docs/events.md lists them).`,
			{ where: "eventTypes", unknown },
		);
}

/** A secret a tenant brings: the Standard Webhooks form, long enough to resist guessing. */
function checkSecret(secret: string): void {
	const body = secret.startsWith("whsec_") ? secret.slice(6) : "";
	const bytes = /^[A-Za-z0-9+/]+={0,2}$/.test(body) ? Buffer.from(body, "base64").length : 0;
	if (bytes < 24 || bytes > 64)
		throw new InvalidInputError(
			"A webhook secret is 'whsec_' followed by the base64 of 24 to 64 random bytes; leave it out to get a new one.",
			{ where: "secret" },
		);
}

export function webhooksMixin(options: WebhooksOptions): Partial<ServiceSchema> {
	// Long because it is a mixin schema (a declaration, not a procedure): seven actions of a few lines.
	const { store } = options;
	return {
		actions: {
			"webhooks.create": requires("webhooks.manage", {
				params: {
					url: URL_RULE,
					eventTypes: TYPES_RULE,
					description: { type: "string", optional: true, max: 512 },
					enabled: { type: "boolean", optional: true },
					/** The tenant's own signing secret (`whsec_` + base64 of 24–64 bytes); default a new one. */
					secret: { type: "string", optional: true, max: 128 },
				},
				async handler(ctx: Ctx<EndpointInput & { secret?: string }>) {
					const { secret, ...input } = ctx.params;
					await checkTarget(input.url, options.allowPrivate);
					checkTypes(input.eventTypes);
					if (secret !== undefined) checkSecret(secret);
					return store.create(scopeOf(ctx).tenantId, input, secret ?? newWebhookSecret());
				},
			}),
			"webhooks.list": requires("webhooks.manage", {
				async handler(ctx: Ctx<unknown>) {
					return store.list(scopeOf(ctx).tenantId);
				},
			}),
			"webhooks.get": requires("webhooks.manage", {
				params: ID_PARAM,
				async handler(ctx: Ctx<{ id: string }>) {
					return store.get(scopeOf(ctx).tenantId, ctx.params.id);
				},
			}),
			"webhooks.update": requires("webhooks.manage", {
				params: {
					...ID_PARAM,
					url: { ...URL_RULE, optional: true },
					eventTypes: { ...TYPES_RULE, optional: true },
					description: { type: "string", optional: true, max: 512 },
					enabled: { type: "boolean", optional: true },
					/** true: a new secret, answered once (the old one stops signing at once). */
					rotateSecret: { type: "boolean", optional: true },
				},
				async handler(
					ctx: Ctx<Partial<EndpointInput> & { id: string; rotateSecret?: boolean }>,
				) {
					const { id, rotateSecret, ...patch } = ctx.params;
					if (patch.url !== undefined) await checkTarget(patch.url, options.allowPrivate);
					if (patch.eventTypes !== undefined) checkTypes(patch.eventTypes);
					const secret = rotateSecret ? newWebhookSecret() : undefined;
					const view = await store.update(scopeOf(ctx).tenantId, id, {
						...patch,
						...(secret ? { secret } : {}),
					});
					return secret ? { ...view, secret } : view;
				},
			}),
			"webhooks.delete": requires("webhooks.manage", {
				params: ID_PARAM,
				async handler(ctx: Ctx<{ id: string }>) {
					return store.delete(scopeOf(ctx).tenantId, ctx.params.id);
				},
			}),
			"webhooks.deliveries": requires("webhooks.manage", {
				params: {
					...ID_PARAM,
					...PAGE_PARAMS,
					state: {
						type: "enum",
						values: ["pending", "delivered", "dead"],
						optional: true,
					},
				},
				async handler(ctx: Ctx<PageParams & { id: string; state?: DeliveryState }>) {
					const { id, ...query } = ctx.params;
					return store.deliveries(scopeOf(ctx).tenantId, id, query);
				},
			}),
			"webhooks.redeliver": requires("webhooks.manage", {
				params: { ...ID_PARAM, delivery: { type: "string", min: 1, max: 64 } },
				async handler(ctx: Ctx<{ id: string; delivery: string }>) {
					const view = await store.redeliver(
						scopeOf(ctx).tenantId,
						ctx.params.id,
						ctx.params.delivery,
						options.retryForMs,
					);
					options.nudge();
					return view;
				},
			}),
		},
	};
}
