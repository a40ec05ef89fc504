/**
 * How a route documents itself: the gateway's alias tables map "METHOD path" to
 * `documented(action, { tag, summary, responses, … })` instead of a bare action name, so the
 * OpenAPI document (lib/http/openapi.ts) comes from the route table itself and adding a route
 * means writing its documentation in the same place. moleculer-web copies the object's fields
 * onto its alias, where the generator finds `openapi`; a route without it fails the OpenAPI test.
 */
import type { JsonSchema } from "../openapi";

/** The areas the API is grouped by (OpenAPI tags), in the order the document lists them. */
export const API_TAGS = {
	Health: "Liveness and readiness for load balancers and orchestrators (no key).",
	"API description": "This document and the Swagger UI that renders it (no key).",
	Console: "The web console's page and files (no key: the page asks for an API key).",
	Fleet: "The nodes of the fleet: role, capacity, live status.",
	"Tenants and keys": "Tenants, API keys and what a key can see of its tenant.",
	"Usage and quotas": "Metered usage per tenant and the quotas that bound it.",
	Models: "The registry's models.",
	Versions: "Versions of a model: create, import, upload, lifecycle, files.",
	Aliases: "Names such as `champion` that point at a version.",
	Datasets: "Uploaded training and background datasets.",
	Artifacts: "Content-addressed files the versions refer to.",
	Training: "Training jobs and their progress.",
	Studies: "Hyperparameter studies: searches whose trials are training jobs.",
	Runs: "Training jobs as comparable runs: parameters, metrics, tags.",
	Deployments: "Where models serve: replicas, traffic split, canaries, shadows.",
	Monitoring: "Captured predictions, drift, live accuracy from ground truth, health.",
	Predictions: "Predictions, explanations and batch predictions over the REST API.",
	Audit: "What was changed, by which key.",
	"Events and webhooks": "Durable domain events as CloudEvents: read back, live, and webhooks.",
	"Open Inference Protocol":
		"KServe v2 / Triton HTTP: health, metadata, inference, configuration and statistics.",
	"Model repository": "Triton's model repository extension: index, load, unload.",
} as const;

export type ApiTag = keyof typeof API_TAGS;

/** A response header, as OpenAPI describes one. */
export interface HeaderDoc {
	description: string;
	schema: JsonSchema;
}

/** One response of an operation: what it means and its bodies by media type. */
export interface ResponseDoc {
	description: string;
	/** Media type → schema of the body; none for an empty body. */
	content?: Readonly<Record<string, JsonSchema>>;
	headers?: Readonly<Record<string, HeaderDoc>>;
}

/** One parameter the action's `params` do not declare (headers, a query the route reads itself). */
export interface ParameterDoc {
	name: string;
	in: "query" | "header";
	description: string;
	required?: boolean;
	schema: JsonSchema;
}

/** What a route says about itself; the rest (parameters, security, common errors) is derived. */
export interface OperationDoc {
	tag: ApiTag;
	/** A few words for humans ("Create a model"), not the action's name. */
	summary: string;
	description?: string;
	/** Success statuses (and any status with a body of its own, such as 206) → response. */
	responses: Readonly<Record<number, ResponseDoc>>;
	/**
	 * Error statuses this route answers besides the ones every route of its kind answers
	 * (401/403/429 with a key, 400 with parameters, 408/413/415 with a body, 503): 404, 409, 416 …
	 */
	errors?: readonly number[];
	/** The request body by media type, when it is not the JSON object of the action's params. */
	requestBody?: { description?: string; content: Readonly<Record<string, JsonSchema>> };
	/** Parameters read outside the action's `params`. */
	parameters?: readonly ParameterDoc[];
	/** Query parameters of the action's `params` that the route does not take (filled in by the route). */
	hide?: readonly string[];
}

/** An alias as moleculer-web takes it in object form, with its documentation beside it. */
export interface DocumentedAlias {
	action: string;
	type: "call" | "stream";
	openapi: OperationDoc;
}

/** `documented("registry.models.create", {...})`, or `documented("stream:api.uploadDataset", {...})`. */
export function documented(target: string, doc: OperationDoc): DocumentedAlias {
	const stream = target.startsWith("stream:");
	return {
		action: stream ? target.slice("stream:".length) : target,
		type: stream ? "stream" : "call",
		openapi: doc,
	};
}

/** The action an alias calls, with `stream:` for streaming aliases (as moleculer-web's strings write it). */
export function aliasTarget(alias: string | DocumentedAlias): string {
	if (typeof alias === "string") return alias;
	return alias.type === "stream" ? `stream:${alias.action}` : alias.action;
}

// Building blocks for the declarations.

/** `{ $ref: "#/components/schemas/Name" }`. */
export const schemaRef = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });

/** A JSON response. */
export function json(description: string, schema: JsonSchema, headers?: ResponseDoc["headers"]) {
	return {
		description,
		content: { "application/json": schema },
		...(headers ? { headers } : {}),
	} satisfies ResponseDoc;
}

/** A JSON response whose body is a schema of `components`. */
export const ok = (description: string, schema: string): ResponseDoc =>
	json(description, schemaRef(schema));

/** A page of a list: `{items, nextCursor}`. */
export const page = (item: string): JsonSchema => ({
	type: "object",
	properties: {
		items: { type: "array", items: schemaRef(item) },
		nextCursor: {
			type: ["string", "null"],
			description: "Pass as `cursor` for the next page; null on the last.",
		},
	},
	required: ["items", "nextCursor"],
});

export const arrayOf = (item: string): JsonSchema => ({ type: "array", items: schemaRef(item) });

/** `201 Created` with the new thing and its `Location` (and any `headers` the route adds). */
export function created(
	description: string,
	schema: JsonSchema,
	headers?: ResponseDoc["headers"],
): ResponseDoc {
	return json(description, schema, {
		Location: {
			description: "Where the new resource is read.",
			schema: { type: "string", format: "uri-reference" },
		},
		...headers,
	});
}

/** A body of raw bytes. */
export const BINARY: JsonSchema = { type: "string", format: "binary" };
