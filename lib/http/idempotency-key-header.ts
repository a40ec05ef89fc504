/**
 * `Idempotency-Key` on the REST routes that create a version (as Stripe's and the IETF draft's
 * header): the gateway hands it to the action as its `idempotencyKey` param, so a client that
 * sends a create again — its answer lost — gets the version the first one made, not another
 * (lib/model-spec/version-idempotency.ts), marked by `Idempotent-Replayed: true`. Keys are
 * scoped per tenant and model; `job:…` ones are the fleet's own.
 */
import type { IncomingHttpHeaders, ServerResponse } from "node:http";
import { InvalidInputError } from "../errors";
import { SERVICE } from "../fleet/node-role";
import { assertClientKey, type ReplayMeta } from "../model-spec/version-idempotency";
import type { HeaderDoc, ParameterDoc } from "./openapi/declarations";

/** The actions whose routes honour the header: every REST way to create a version. */
export const IDEMPOTENT_CREATES: ReadonlySet<string> = new Set([
	`${SERVICE.registry}.versions.create`,
	`${SERVICE.registry}.versions.import`,
	`${SERVICE.api}.uploadVersion`,
]);

/** The header as the routes' OpenAPI documents it. */
export const IDEMPOTENCY_KEY_PARAMETER: ParameterDoc = {
	name: "Idempotency-Key",
	in: "header",
	description:
		"Makes the create idempotent (1–255 visible ASCII characters, e.g. a UUID; per tenant and model): the same request sent again answers the version the first made (with `Idempotent-Replayed: true`); the key with another request answers 409 `IDEMPOTENCY_CONFLICT`. Keys starting with `job:` are the fleet's own (400 `RESERVED_IDEMPOTENCY_KEY`).",
	schema: { type: "string", minLength: 1, maxLength: 255 },
};

/**
 * The response header that tells a create's answer came from an earlier request with its key —
 * nothing was made, so no event, no quota — as Stripe's `Idempotent-Replayed` does. Sent only then.
 */
export const IDEMPOTENT_REPLAYED = "Idempotent-Replayed";

/** The replay header as the routes' OpenAPI documents it on their 201. */
export const IDEMPOTENT_REPLAYED_HEADER: Readonly<Record<string, HeaderDoc>> = {
	[IDEMPOTENT_REPLAYED]: {
		description:
			"`true` when the version was made by an earlier request with this `Idempotency-Key` and is answered again; absent when this request made it.",
		schema: { type: "string", enum: ["true"] },
	},
};

/**
 * Puts the request's Idempotency-Key into `params.idempotencyKey` (the action checks its form).
 * 400 when the body names another key: which one was meant cannot be told; 400 when the key,
 * from either, has the form of a job's (RESERVED_IDEMPOTENCY_KEY).
 */
export function applyIdempotencyKeyHeader(
	headers: IncomingHttpHeaders,
	params: Record<string, unknown>,
): void {
	const header = headers["idempotency-key"];
	const key = Array.isArray(header) ? header.join(", ") : header;
	if (key !== undefined) {
		if (params.idempotencyKey != null && params.idempotencyKey !== key) {
			throw new InvalidInputError(
				"The Idempotency-Key header and the idempotencyKey field name different keys: send one.",
				{ field: "idempotencyKey" },
			);
		}
		params.idempotencyKey = key;
	}
	// Here, not in the registry: the jobs send their keys to the same actions over the bus.
	assertClientKey(params.idempotencyKey);
}

/** Marks the answer of a create that made nothing, its version an earlier request's. */
export function applyReplayedHeader(meta: ReplayMeta, res: ServerResponse): void {
	if (meta.idempotentReplay === true) res.setHeader(IDEMPOTENT_REPLAYED, "true");
}
