/**
 * The gateway's OpenAPI 3.1 document, generated from what it serves: every alias of every
 * moleculer-web route (method, path, whether a key is needed, whether the body is a stream),
 * the declaration written beside the alias (`documented(…)`, lib/http/openapi/declarations.ts:
 * tag, summary, responses, the errors of its own) and the `params` schema of the action it
 * calls, converted from fastest-validator to JSON Schema. Path parameters come from the path;
 * the other parameters are the query string of GET/DELETE or the JSON body of POST/PUT/PATCH.
 * The errors every route of a kind answers (400 with parameters; 408, 413 and 415 with a body; 401,
 * 429 and, where a role may lack the permission, 403 with a key; 503) are added here rather
 * than on every route.
 */
import { PERMISSIONS, ROLES, rolesWith, type Permission } from "../accounts/roles";
import { API_TAGS, type OperationDoc } from "./openapi/declarations";
import { API_SCHEMAS } from "./openapi/schemas";

/** JSON Schema as OpenAPI 3.1 takes it (JSON Schema 2020-12; nothing that draft-07 lacks). */
export type JsonSchema = Record<string, unknown>;

/** What the generator reads of a moleculer-web alias. */
export interface OpenApiAlias {
	method: string;
	fullPath: string;
	action: string | null;
	/** "call", or "stream" when the body goes to the action as a stream. */
	type: string;
	route: { path: string; opts: { authentication?: unknown } };
	/** The declaration beside the alias (`documented(…)`); missing on an undocumented route. */
	openapi?: OperationDoc;
}

/** What the generator reads of an action's definition. */
export interface OpenApiAction {
	params?: unknown;
	/** What `requires(permission, …)` put on it (lib/accounts/access.ts). */
	permission?: unknown;
}

export interface OpenApiInfo {
	title: string;
	version: string;
}

/** A declaration, or the stand-in of an undocumented route (whose tag is not an area). */
type AnyDoc = Omit<OperationDoc, "tag"> & { tag: string };

const BODY_METHODS = new Set(["post", "put", "patch"]);
const ALL_METHODS = ["get", "post", "put", "patch", "delete"];

type Rule = Record<string, unknown>;

/** A shorthand rule ("string|optional|min:3") as its object form. */
function expandShorthand(text: string): Rule {
	const [type, ...flags] = text.split("|");
	const rule: Rule = { type: type.trim() };
	for (const flag of flags) {
		const [name, value] = flag.split(":");
		if (value === undefined) rule[name.trim()] = true;
		else {
			const number = Number(value);
			rule[name.trim()] = Number.isFinite(number) ? number : value.trim();
		}
	}
	return rule;
}

function asRule(rule: unknown): Rule | Rule[] | null {
	if (typeof rule === "string") return expandShorthand(rule);
	if (Array.isArray(rule))
		return rule.map(r => asRule(r)).filter((r): r is Rule => r !== null && !Array.isArray(r));
	if (typeof rule === "object" && rule !== null) return rule as Rule;
	return null;
}

function isOptional(rule: unknown): boolean {
	const r = asRule(rule);
	if (r === null) return true;
	if (Array.isArray(r)) return r.some(isOptional);
	return r.optional === true || r.default !== undefined;
}

function numberish(value: unknown): number | undefined {
	return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

/** The properties of an object rule (`props` or `properties`) as JSON Schema, with what is required. */
function objectSchema(props: Record<string, unknown>, strict: unknown): JsonSchema {
	const properties: Record<string, JsonSchema> = {};
	const required: string[] = [];
	for (const [name, rule] of Object.entries(props)) {
		if (name.startsWith("$$")) continue;
		properties[name] = fastestValidatorToJsonSchema(rule);
		if (!isOptional(rule)) required.push(name);
	}
	return {
		type: "object",
		properties,
		...(required.length > 0 ? { required } : {}),
		...(strict === true || strict === "remove" ? { additionalProperties: false } : {}),
	};
}

/** Copies the keywords of a rule that mean the same in JSON Schema. */
function common(rule: Rule, schema: JsonSchema): JsonSchema {
	if (rule.nullable === true) {
		if (typeof schema.type === "string") schema.type = [schema.type, "null"];
		else if (Array.isArray(schema.enum)) schema.enum = [...schema.enum, null];
		else if (Object.keys(schema).length > 0) return { anyOf: [schema, { type: "null" }] };
	}
	if (rule.default !== undefined && typeof rule.default !== "function")
		schema.default = rule.default;
	if (typeof rule.description === "string") schema.description = rule.description;
	return schema;
}

function stringSchema(rule: Rule): JsonSchema {
	const schema: JsonSchema = { type: "string" };
	const min = numberish(rule.min) ?? (rule.empty === false ? 1 : undefined);
	if (min !== undefined) schema.minLength = min;
	if (numberish(rule.max) !== undefined) schema.maxLength = rule.max;
	if (numberish(rule.length) !== undefined) schema.minLength = schema.maxLength = rule.length;
	if (typeof rule.pattern === "string") schema.pattern = rule.pattern;
	else if (rule.pattern instanceof RegExp) schema.pattern = rule.pattern.source;
	if (Array.isArray(rule.enum)) schema.enum = [...rule.enum];
	if (rule.numeric === true) schema.pattern = "^-?[0-9]+(\\.[0-9]+)?$";
	return common(rule, schema);
}

function numberSchema(rule: Rule): JsonSchema {
	const schema: JsonSchema = { type: rule.integer === true ? "integer" : "number" };
	if (numberish(rule.min) !== undefined) schema.minimum = rule.min;
	if (numberish(rule.max) !== undefined) schema.maximum = rule.max;
	if (numberish(rule.equal) !== undefined) schema.enum = [rule.equal];
	if (rule.positive === true && schema.minimum === undefined) schema.exclusiveMinimum = 0;
	if (rule.negative === true && schema.maximum === undefined) schema.exclusiveMaximum = 0;
	return common(rule, schema);
}

function arraySchema(rule: Rule): JsonSchema {
	const schema: JsonSchema = { type: "array" };
	if (rule.items !== undefined) schema.items = fastestValidatorToJsonSchema(rule.items);
	const min = numberish(rule.min) ?? (rule.empty === false ? 1 : undefined);
	if (min !== undefined) schema.minItems = min;
	if (numberish(rule.max) !== undefined) schema.maxItems = rule.max;
	if (numberish(rule.length) !== undefined) schema.minItems = schema.maxItems = rule.length;
	if (rule.unique === true) schema.uniqueItems = true;
	if (Array.isArray(rule.enum)) schema.items = { enum: [...rule.enum] };
	return common(rule, schema);
}

function tupleSchema(rule: Rule): JsonSchema {
	const items = Array.isArray(rule.items) ? rule.items : [];
	return common(rule, {
		type: "array",
		items: items.length > 0 ? { anyOf: items.map(i => fastestValidatorToJsonSchema(i)) } : {},
		minItems: items.length,
		maxItems: items.length,
	});
}

function objectRuleSchema(rule: Rule): JsonSchema {
	const props = (rule.props ?? rule.properties) as Record<string, unknown> | undefined;
	const schema: JsonSchema =
		props !== undefined ? objectSchema(props, rule.strict) : { type: "object" };
	if (numberish(rule.minProps) !== undefined) schema.minProperties = rule.minProps;
	if (numberish(rule.maxProps) !== undefined) schema.maxProperties = rule.maxProps;
	return common(rule, schema);
}

/** One fastest-validator rule (object, shorthand string, or a list of alternatives) as JSON Schema. */
export function fastestValidatorToJsonSchema(input: unknown): JsonSchema {
	const rule = asRule(input);
	if (rule === null) return {};
	if (Array.isArray(rule)) return { anyOf: rule.map(r => fastestValidatorToJsonSchema(r)) };
	if (rule.$$root === true) {
		const rest = { ...rule };
		delete rest.$$root;
		return fastestValidatorToJsonSchema(rest);
	}
	const type = typeof rule.type === "string" ? rule.type : "any";
	switch (type) {
		case "string":
			return stringSchema(rule);
		case "number":
			return numberSchema(rule);
		case "boolean":
			return common(rule, { type: "boolean" });
		case "enum":
			return common(rule, { enum: Array.isArray(rule.values) ? [...rule.values] : [] });
		case "equal":
			return common(rule, { enum: [rule.value] });
		case "email":
			return common(rule, { type: "string", format: "email" });
		case "url":
			return common(rule, { type: "string", format: "uri" });
		case "uuid":
			return common(rule, { type: "string", format: "uuid" });
		case "date":
			return common(rule, { type: "string", format: "date-time" });
		case "objectID":
		case "currency":
		case "mac":
		case "luhn":
			return common(rule, { type: "string" });
		case "array":
			return arraySchema(rule);
		case "tuple":
			return tupleSchema(rule);
		case "object":
			return objectRuleSchema(rule);
		case "record":
			return common(rule, {
				type: "object",
				additionalProperties:
					rule.value !== undefined ? fastestValidatorToJsonSchema(rule.value) : {},
			});
		case "multi":
			return common(rule, {
				anyOf: (Array.isArray(rule.rules) ? rule.rules : []).map(r =>
					fastestValidatorToJsonSchema(r),
				),
			});
		default:
			// any, custom, class, function, forbidden: nothing JSON Schema can say.
			return common(rule, {});
	}
}

/** `/v2/models/:model/versions/:version` → `/v2/models/{model}/versions/{version}` and its parameter names. */
export function openApiPath(fullPath: string): { path: string; names: string[] } {
	const names: string[] = [];
	const path = fullPath.replace(/:([A-Za-z0-9_]+)\??/g, (_m, name: string) => {
		names.push(name);
		return `{${name}}`;
	});
	return { path: path === "" ? "/" : path, names };
}

function operationId(method: string, path: string): string {
	return `${method}${path.replace(/[{}]/g, "").replace(/[^A-Za-z0-9]+(.)?/g, (_m, c?: string) => (c ?? "").toUpperCase())}`;
}

/** The action's parameters as one object schema (empty when it declares none). */
function paramsSchema(action: OpenApiAction | undefined): JsonSchema & {
	properties: Record<string, JsonSchema>;
	required?: string[];
} {
	const params = action?.params;
	if (typeof params !== "object" || params === null) return { type: "object", properties: {} };
	const schema = objectSchema(params as Record<string, unknown>, false);
	return schema as JsonSchema & { properties: Record<string, JsonSchema>; required?: string[] };
}

const ERROR_MEANING: Readonly<Record<number, string>> = {
	400: "Bad request: a parameter or the body is not valid; the message says which.",
	401: "No API key, or one that is not valid.",
	403: "The key's role or tenant may not do this.",
	404: "Not found (or not the caller's tenant's).",
	408: "The body stopped arriving.",
	409: "Conflicts with what exists (a duplicate name, a state change that is not allowed).",
	413: "The body is larger than the limit.",
	415: "A Content-Encoding other than gzip, deflate or identity, or a charset other than UTF-8.",
	416: "The range is not satisfiable.",
	429: "Too many requests, bytes in flight or a quota exceeded; see `Retry-After`.",
	500: "An internal error; the node's log has the details.",
	503: "A service this request needs is not running or ready; retry later.",
	504: "The request took longer than the time limit.",
};

/** An error response: `{error}` on the Open Inference Protocol, our error object elsewhere. */
function errorResponse(status: number, oip: boolean): Record<string, unknown> {
	return {
		description: ERROR_MEANING[status] ?? "An error.",
		content: {
			"application/json": {
				schema: {
					$ref: oip ? "#/components/schemas/OipError" : "#/components/schemas/Error",
				},
			},
		},
	};
}

/** The routes that speak the Open Inference Protocol's error body. */
const isOipPath = (fullPath: string): boolean => fullPath === "/v2" || fullPath.startsWith("/v2/");

type ParamEntry = [string, JsonSchema];

/** The JSON body of a POST/PUT/PATCH operation: the action's parameters not in the path. */
function jsonRequestBody(rest: readonly ParamEntry[], required: ReadonlySet<string>) {
	return {
		required: rest.some(([name]) => required.has(name)),
		content: {
			"application/json": {
				schema: {
					type: "object",
					properties: Object.fromEntries(rest),
					...(rest.some(([name]) => required.has(name))
						? { required: rest.map(([n]) => n).filter(n => required.has(n)) }
						: {}),
				},
			},
		},
	};
}

/** A media type → schema map as OpenAPI's `content`. */
function content(media: Readonly<Record<string, JsonSchema>>): Record<string, unknown> {
	return Object.fromEntries(Object.entries(media).map(([type, schema]) => [type, { schema }]));
}

/** The statuses an operation answers: its own, then those every route of its kind answers. */
function responses(
	doc: AnyDoc,
	oip: boolean,
	keyed: boolean,
	action: OpenApiAction | undefined,
	takesInput: boolean,
	takesBody: boolean,
): Record<string, unknown> {
	const out: Record<string, unknown> = {};
	for (const [status, response] of Object.entries(doc.responses)) {
		out[status] = {
			description: response.description,
			...(response.headers ? { headers: response.headers } : {}),
			...(response.content ? { content: content(response.content) } : {}),
		};
	}
	const errors = new Set<number>(doc.errors ?? []);
	if (takesInput) errors.add(400);
	// Every body has a limit (1 MiB of JSON, the upload and inference limits), an idle timeout,
	// and only gzip, deflate or identity as its Content-Encoding (UTF-8 for text).
	if (takesBody) {
		errors.add(408);
		errors.add(413);
		errors.add(415);
	}
	if (keyed) {
		errors.add(401);
		errors.add(429);
		if (restrictsRoles(action)) errors.add(403);
	}
	errors.add(503);
	for (const status of [...errors].sort((a, b) => a - b))
		if (out[status] === undefined) out[status] = errorResponse(status, oip);
	out.default = errorResponse(500, oip);
	return out;
}

/** Whether some role lacks the permission the action requires (so a key can be refused 403). */
function restrictsRoles(action: OpenApiAction | undefined): boolean {
	const permission = action?.permission;
	if (typeof permission !== "string" || !(permission in PERMISSIONS)) return false;
	return rolesWith(permission as Permission).length < ROLES.length;
}

/** One method of one alias as an OpenAPI operation. */
function aliasOperation(
	alias: OpenApiAlias & { action: string },
	method: string,
	path: string,
	action: OpenApiAction | undefined,
	pathParameters: readonly Record<string, unknown>[],
	rest: readonly ParamEntry[],
	required: ReadonlySet<string>,
): Record<string, unknown> {
	const doc = alias.openapi ?? UNDOCUMENTED;
	const stream = alias.type === "stream";
	const inBody = BODY_METHODS.has(method) && !stream && doc.requestBody === undefined;
	const query = inBody ? [] : rest.filter(([name]) => !(doc.hide ?? []).includes(name));
	const keyed = Boolean(alias.route.opts.authentication);
	const parameters = [
		...pathParameters,
		...query.map(([name, s]) => ({
			name,
			in: "query",
			required: required.has(name),
			schema: s,
		})),
		...(doc.parameters ?? []).map(p => ({ ...p, required: p.required ?? false })),
	];
	const operation: Record<string, unknown> = {
		operationId: operationId(method, path),
		tags: [doc.tag],
		summary: doc.summary,
		...(doc.description ? { description: doc.description } : {}),
		"x-action": alias.action,
		...(alias.openapi === undefined ? { "x-undocumented": true } : {}),
		...(parameters.length > 0 ? { parameters } : {}),
	};
	if (inBody) operation.requestBody = jsonRequestBody(rest, required);
	else if (doc.requestBody)
		operation.requestBody = {
			required: true,
			...(doc.requestBody.description ? { description: doc.requestBody.description } : {}),
			content: content(doc.requestBody.content),
		};
	else if (stream)
		operation.requestBody = {
			required: true,
			content: content({ "application/octet-stream": { type: "string", format: "binary" } }),
		};
	const takesInput = parameters.length > 0 || operation.requestBody !== undefined;
	operation.responses = responses(
		doc,
		isOipPath(alias.fullPath),
		keyed,
		action,
		takesInput,
		operation.requestBody !== undefined,
	);
	// The document's default is a key; the routes that need none say so.
	if (!keyed) operation.security = [];
	return operation;
}

/**
 * What a route without a declaration gets: served rather than failing the whole document, and
 * marked `x-undocumented` so the OpenAPI test names it (the fix is `documented(…)` beside it).
 */
const UNDOCUMENTED: AnyDoc = {
	tag: "Undocumented",
	summary: "Undocumented route",
	responses: { 200: { description: "Not documented yet." } },
};

/** Adds the operations of one alias (one per method) to `paths`. */
function addAliasPaths(
	paths: Record<string, Record<string, unknown>>,
	alias: OpenApiAlias & { action: string },
	actionOf: (name: string) => OpenApiAction | undefined,
): void {
	const { path, names } = openApiPath(alias.fullPath);
	const methods = alias.method === "*" ? ALL_METHODS : [alias.method.toLowerCase()];
	const action = actionOf(alias.action);
	const schema = paramsSchema(action);
	const required = new Set(schema.required ?? []);
	const parameters: Record<string, unknown>[] = names.map(name => ({
		name,
		in: "path",
		required: true,
		schema: schema.properties[name] ?? { type: "string" },
	}));
	const rest = Object.entries(schema.properties).filter(([name]) => !names.includes(name));
	for (const method of methods) {
		const operation = aliasOperation(alias, method, path, action, parameters, rest, required);
		paths[path] = { ...(paths[path] ?? {}), [method]: operation };
	}
}

/** The document's security schemes and schemas. */
function openApiComponents(): Record<string, unknown> {
	return {
		securitySchemes: {
			bearer: {
				type: "http",
				scheme: "bearer",
				description: "An API key: `Authorization: Bearer mf_…`.",
			},
			apiKey: {
				type: "apiKey",
				in: "header",
				name: "x-api-key",
				description: "The same API key in a header of its own.",
			},
		},
		schemas: API_SCHEMAS,
	};
}

/** The whole document. `actionOf` returns the definition of an action by name (with its `params`). */
export function buildOpenApiDocument(
	aliases: readonly OpenApiAlias[],
	actionOf: (name: string) => OpenApiAction | undefined,
	info: OpenApiInfo,
): Record<string, unknown> {
	const paths: Record<string, Record<string, unknown>> = {};
	for (const alias of aliases) {
		if (alias.action === null) continue;
		addAliasPaths(paths, alias as OpenApiAlias & { action: string }, actionOf);
	}
	return {
		openapi: "3.1.0",
		info: {
			title: info.title,
			version: info.version,
			description:
				"modelfleet's HTTP API: the registry, training, deployments and predictions under " +
				"`/api/v1` (an API key in `Authorization: Bearer` or `x-api-key`), and the Open " +
				"Inference Protocol (KServe v2 / Triton) under `/v2`. Generated from the gateway's " +
				"routes, the declarations beside them and the parameter schemas of the actions they call.",
			license: { name: "Apache-2.0", identifier: "Apache-2.0" },
		},
		servers: [{ url: "/", description: "The gateway that served this document." }],
		security: [{ bearer: [] }, { apiKey: [] }],
		tags: Object.entries(API_TAGS).map(([name, description]) => ({ name, description })),
		paths: sortedPaths(paths),
		components: openApiComponents(),
	};
}

/** Paths in a stable order, grouped as a reader looks for them. */
function sortedPaths(
	paths: Record<string, Record<string, unknown>>,
): Record<string, Record<string, unknown>> {
	return Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b)));
}
