/** GET /api/openapi.json on an all-in-one node: generated from the routes and the actions' params. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import Ajv from "ajv";
import { startNode, type StartedNode } from "../../nodes/start-node";
import { apiService } from "../../services/api.service";
import { openApiPath } from "../../lib/http/openapi";
import { testTrust } from "../support/fleet-secret";
import { freePort } from "../support/node-process";

type Operation = {
	parameters: { name: string; in: string; required: boolean; schema: Record<string, unknown> }[];
	requestBody?: { content: Record<string, { schema: Record<string, unknown> }> };
	security?: unknown[];
	"x-action": string;
};
type Document = { openapi: string; paths: Record<string, Record<string, Operation>> };

describe("GET /api/openapi.json", () => {
	let node: StartedNode;
	let document: Document;

	beforeAll(async () => {
		node = await startNode(
			"all-in-one",
			{
				HOST: "127.0.0.1",
				PORT: String(await freePort()),
				METRICS_PORT: "off",
				MODELFLEET_GRPC_PORT: "off",
				LOG_LEVEL: "error",
				MODELFLEET_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), "mf-openapi-")),
				MODELFLEET_POOL_THREADS: "1",
			},
			() => undefined,
		);
		const response = await fetch(`${node.httpUrl}/api/openapi.json`);
		expect(response.status).toBe(200);
		document = (await response.json()) as Document;
	}, 60_000);

	afterAll(() => node?.stop());

	it("is an OpenAPI 3 document served without a key", () => {
		expect(document.openapi).toMatch(/^3\./);
	});

	it("holds every alias of every route of the gateway, with its method and action", () => {
		const schema = apiService({
			trust: testTrust(),
			host: "127.0.0.1",
			port: 0,
			neededServices: [],
		});
		const routes = (
			schema.settings as { routes: { path: string; aliases: Record<string, string> }[] }
		).routes;
		let count = 0;
		for (const route of routes) {
			for (const [alias, target] of Object.entries(route.aliases)) {
				const [method, aliasPath] = alias.split(/\s+/);
				const full = `${route.path}/${aliasPath.replace(/^\//, "")}`.replace(/\/$/, "");
				const { path: documented } = openApiPath(full);
				const operation = document.paths[documented]?.[method.toLowerCase()];
				expect({
					alias: `${route.path} ${alias}`,
					operation: operation?.["x-action"],
				}).toEqual({
					alias: `${route.path} ${alias}`,
					operation: target.replace(/^stream:/, ""),
				});
				count++;
			}
		}
		expect(count).toBeGreaterThan(30);
	});

	it("converts the actions' validation schemas: body of a POST, query of a GET, path parameters", () => {
		const create = document.paths["/api/v1/models"].post;
		expect(create.requestBody?.content["application/json"].schema).toMatchObject({
			type: "object",
			properties: {
				name: { type: "string", pattern: expect.any(String) },
				description: { type: "string", maxLength: 4096 },
				task: { enum: ["classification", "regression", "nlp", "vision", "other"] },
			},
			required: expect.arrayContaining(["name", "task", "framework"]),
		});
		const list = document.paths["/api/v1/models"].get;
		expect(list.parameters).toEqual(
			expect.arrayContaining([
				{
					name: "limit",
					in: "query",
					required: false,
					schema: { type: "integer", minimum: 1, maximum: 500, default: 50 },
				},
			]),
		);
		expect(list.security).toEqual([{ bearer: [] }, { apiKey: [] }]);
		const infer = document.paths["/v2/models/{model}/versions/{version}/infer"].post;
		expect(infer.parameters.map(p => [p.name, p.in, p.required])).toEqual([
			["model", "path", true],
			["version", "path", true],
		]);
		expect(Object.keys(infer.requestBody?.content ?? {})).toContain("application/octet-stream");
		expect(document.paths["/v2/health/live"].get.security).toBeUndefined();
	});

	it("gives only valid JSON Schemas", () => {
		const ajv = new Ajv({ strict: false, validateFormats: false });
		for (const operations of Object.values(document.paths))
			for (const operation of Object.values(operations)) {
				for (const parameter of operation.parameters) ajv.compile(parameter.schema);
				for (const media of Object.values(operation.requestBody?.content ?? {}))
					ajv.compile(media.schema);
			}
	});
});
