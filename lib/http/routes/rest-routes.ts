/**
 * The REST routes of /api/v1 ("METHOD path" → action), each with its documentation beside it
 * (`documented`, lib/http/openapi/declarations.ts), by area. The OpenAPI document is generated
 * from these tables, so a route added to one is documented in the same entry. moleculer-web
 * matches aliases in this order.
 */
import { ACCOUNT_ROUTES } from "./account-routes";
import { EVENT_ROUTES } from "./event-routes";
import { PREDICTION_ROUTES } from "./prediction-routes";
import { REGISTRY_ROUTES } from "./registry-routes";
import { SCHEDULER_ROUTES } from "./scheduler-routes";
import { STUDY_ROUTES } from "./study-routes";

export const REST_ROUTES = {
	...ACCOUNT_ROUTES,
	...REGISTRY_ROUTES,
	...EVENT_ROUTES,
	...SCHEDULER_ROUTES,
	...STUDY_ROUTES,
	...PREDICTION_ROUTES,
};

/**
 * The actions of the POST routes whose documentation answers 201 Created: the gateway answers
 * them 201 with a Location (services/api.service.ts), so what a route does is what its OpenAPI
 * entry says (`versions.import` answered 200 while documented 201, before this came from here).
 */
export const CREATED_ACTIONS: ReadonlySet<string> = new Set(
	Object.entries(REST_ROUTES)
		.filter(
			([alias, target]) =>
				alias.startsWith("POST ") &&
				typeof target === "object" &&
				target.openapi !== undefined &&
				"201" in target.openapi.responses,
		)
		.map(([, target]) => (target as { action: string }).action),
);
