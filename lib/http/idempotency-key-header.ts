/**
 * `Idempotency-Key` on the REST routes that create a version (as Stripe's and the IETF draft's
 * header): the gateway hands it to the action as its `idempotencyKey` param, so a client that
 * sends a create again — its answer lost — gets the version the first one made, not another
 * (lib/model-spec/version-idempotency.ts). Keys are scoped per tenant and model.
 */
import type { IncomingHttpHeaders } from "node:http";
import { InvalidInputError } from "../errors";
import { SERVICE } from "../fleet/node-role";
import type { ParameterDoc } from "./openapi/declarations";

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
		"Makes the create idempotent (1–255 visible ASCII characters, e.g. a UUID; per tenant and model): the same request sent again answers the version the first made; the key with another request answers 409 `IDEMPOTENCY_CONFLICT`.",
	schema: { type: "string", minLength: 1, maxLength: 255 },
};

/**
 * Puts the request's Idempotency-Key into `params.idempotencyKey` (the action checks its form).
 * 400 when the body names another key: which one was meant cannot be told.
 */
export function applyIdempotencyKeyHeader(
	headers: IncomingHttpHeaders,
	params: Record<string, unknown>,
): void {
	const header = headers["idempotency-key"];
	const key = Array.isArray(header) ? header.join(", ") : header;
	if (key === undefined) return;
	if (params.idempotencyKey != null && params.idempotencyKey !== key) {
		throw new InvalidInputError(
			"The Idempotency-Key header and the idempotencyKey field name different keys: send one.",
			{ field: "idempotencyKey" },
		);
	}
	params.idempotencyKey = key;
}
