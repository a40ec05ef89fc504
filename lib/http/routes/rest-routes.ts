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
