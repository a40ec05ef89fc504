/**
 * Parameter rules and types every service's actions share: the caller's context type, a
 * model reference, a version reference and the page of a list. One definition each, so a
 * rule changes in one place (the REST routes and the OpenAPI document follow it).
 */
import type { Context } from "moleculer";
import type { RequestMeta } from "../lib/accounts/access";

/** An action's context, with the caller's identity in its meta. */
export type Ctx<P> = Context<P, RequestMeta>;

/** A model reference: `name` or `name@alias` (the registry resolves it). */
export const MODEL_REF_RULE = { type: "string", min: 1, max: 256 } as const;

/** `{ model }`: the one parameter of actions about a model. */
export const MODEL_PARAM = { model: MODEL_REF_RULE } as const;

/** A version reference: `model`, `model@1.2.0`, `model@champion`, optionally with `version`. */
export const VERSION_REF_PARAMS = {
	model: MODEL_REF_RULE,
	version: { type: "string", optional: true, max: 128 },
} as const;

/** Lists page alike: `limit` (1–500, default 50) and the previous page's `nextCursor`. */
export const PAGE_PARAMS = {
	limit: { type: "number", integer: true, min: 1, max: 500, default: 50, convert: true },
	cursor: { type: "string", optional: true, max: 512 },
} as const;

/** What a paged list's parameters hold once validated. */
export interface PageParams {
	limit: number;
	cursor?: string;
}
