import {
	buildOpenApiDocument,
	fastestValidatorToJsonSchema,
	openApiPath,
	type OpenApiAlias,
} from "../../../lib/http/openapi";

describe("fastestValidatorToJsonSchema", () => {
	it.each([
		[
			{ type: "string", min: 1, max: 256 },
			{ type: "string", minLength: 1, maxLength: 256 },
		],
		[
			{ type: "number", integer: true, min: 1, max: 500, optional: true },
			{ type: "integer", minimum: 1, maximum: 500 },
		],
		[{ type: "enum", values: ["onnx", "tfjs"] }, { enum: ["onnx", "tfjs"] }],
		["string|optional|max:40", { type: "string", maxLength: 40 }],
		[
			{ type: "array", items: "string", min: 1 },
			{ type: "array", items: { type: "string" }, minItems: 1 },
		],
		[
			{ type: "record", value: { type: "string", nullable: true } },
			{ type: "object", additionalProperties: { type: ["string", "null"] } },
		],
		[
			[{ type: "string" }, { type: "number" }],
			{ anyOf: [{ type: "string" }, { type: "number" }] },
		],
		[{ type: "any" }, {}],
		[
			{ type: "number", positive: true },
			{ type: "number", exclusiveMinimum: 0 },
		],
	])("converts %j", (rule, schema) => {
		expect(fastestValidatorToJsonSchema(rule)).toEqual(schema);
	});

	it("converts nested objects with what is required", () => {
		expect(
			fastestValidatorToJsonSchema({
				type: "object",
				strict: true,
				props: {
					name: { type: "string" },
					shape: { type: "array", items: { type: "number", integer: true } },
					tags: { type: "object", optional: true },
					limit: { type: "number", default: 50 },
				},
			}),
		).toEqual({
			type: "object",
			properties: {
				name: { type: "string" },
				shape: { type: "array", items: { type: "integer" } },
				tags: { type: "object" },
				limit: { type: "number", default: 50 },
			},
			required: ["name", "shape"],
			additionalProperties: false,
		});
	});
});

describe("openApiPath", () => {
	it("writes moleculer-web's :params as OpenAPI's {params}", () => {
		expect(openApiPath("/api/v1/models/:model/versions/:version")).toEqual({
			path: "/api/v1/models/{model}/versions/{version}",
			names: ["model", "version"],
		});
	});
});

describe("buildOpenApiDocument", () => {
	const route = (path: string, authentication: boolean) => ({ path, opts: { authentication } });
	const aliases: OpenApiAlias[] = [
		{
			method: "GET",
			fullPath: "/api/v1/models/:name",
			action: "registry.models.get",
			type: "call",
			route: route("/api/v1", true),
		},
		{
			method: "POST",
			fullPath: "/api/v1/models",
			action: "registry.models.create",
			type: "call",
			route: route("/api/v1", true),
			openapi: {
				tag: "Models",
				summary: "Create a model",
				responses: { 201: { description: "Created." } },
				errors: [409],
			},
		},
		{
			method: "POST",
			fullPath: "/v2/models/:model/infer",
			action: "api.v2Infer",
			type: "stream",
			route: route("/v2/models", true),
			openapi: {
				tag: "Open Inference Protocol",
				summary: "Inference",
				responses: { 200: { description: "Outputs." } },
			},
		},
		{
			method: "GET",
			fullPath: "/v2",
			action: "api.v2Server",
			type: "call",
			route: route("/v2", false),
			openapi: {
				tag: "Open Inference Protocol",
				summary: "Server metadata",
				responses: { 200: { description: "Metadata." } },
			},
		},
	];
	const params: Record<string, unknown> = {
		"registry.models.get": { name: { type: "string" }, expand: "boolean|optional" },
		"registry.models.create": {
			name: { type: "string", max: 64 },
			task: { type: "enum", values: ["classification", "other"] },
			description: { type: "string", optional: true },
		},
		"api.v2Infer": { model: "string", version: "string|optional" },
	};
	const documentRoot = buildOpenApiDocument(
		aliases,
		name => ({
			params: params[name],
			// Every role may read: no 403 from the role.
			permission: name === "registry.models.create" ? "models.write" : "models.read",
		}),
		{ title: "t", version: "1" },
	);
	const document = documentRoot as {
		paths: Record<string, Record<string, Record<string, unknown>>>;
	};

	it("puts path parameters in the path and the rest in the query of a GET", () => {
		expect(document.paths["/api/v1/models/{name}"].get).toMatchObject({
			parameters: [
				{ name: "name", in: "path", required: true, schema: { type: "string" } },
				{ name: "expand", in: "query", required: false, schema: { type: "boolean" } },
			],
		});
		// A key is the document's default; the operation says nothing of its own.
		expect(document.paths["/api/v1/models/{name}"].get.security).toBeUndefined();
		expect(documentRoot.security).toEqual([{ bearer: [] }, { apiKey: [] }]);
	});

	it("gives a POST's parameters as its JSON body", () => {
		expect(document.paths["/api/v1/models"].post.requestBody).toEqual({
			required: true,
			content: {
				"application/json": {
					schema: {
						type: "object",
						properties: {
							name: { type: "string", maxLength: 64 },
							task: { enum: ["classification", "other"] },
							description: { type: "string" },
						},
						required: ["name", "task"],
					},
				},
			},
		});
	});

	it("gives a stream route a binary body, and public routes no security", () => {
		expect(document.paths["/v2/models/{model}/infer"].post.requestBody).toMatchObject({
			content: { "application/octet-stream": { schema: { format: "binary" } } },
		});
		expect(document.paths["/v2"].get.security).toEqual([]);
	});

	it("answers what the declaration says, and the errors every route of its kind answers", () => {
		const create = document.paths["/api/v1/models"].post as {
			tags: string[];
			summary: string;
			responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
		};
		expect(create.tags).toEqual(["Models"]);
		expect(create.summary).toBe("Create a model");
		// 403: a viewer lacks models.write; 400: its parameters; 408, 413: its body; 401, 429: its key.
		expect(Object.keys(create.responses)).toEqual([
			"201",
			"400",
			"401",
			"403",
			"408",
			"409",
			"413",
			"415",
			"429",
			"503",
			"default",
		]);
		expect(create.responses["409"].content?.["application/json"].schema).toEqual({
			$ref: "#/components/schemas/Error",
		});
		const infer = document.paths["/v2/models/{model}/infer"].post as typeof create;
		expect(Object.keys(infer.responses)).not.toContain("403");
		expect(infer.responses["401"].content?.["application/json"].schema).toEqual({
			$ref: "#/components/schemas/OipError",
		});
		const server = document.paths["/v2"].get as typeof create;
		expect(Object.keys(server.responses)).toEqual(["200", "503", "default"]);
	});

	it("marks a route without a declaration, so the OpenAPI test names it", () => {
		expect(document.paths["/api/v1/models/{name}"].get).toMatchObject({
			"x-undocumented": true,
		});
		expect(document.paths["/api/v1/models"].post["x-undocumented"]).toBeUndefined();
	});
});
