/**
 * GET /api/openapi.json on an all-in-one node: generated from the route table and the
 * declarations beside each route. Every route has a documented operation; Redocly's
 * recommended lint finds no error in the served document; and a sample of real calls answers
 * only statuses, media types and bodies the document declares for them.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import Ajv2020 from "ajv/dist/2020";
import { startNode, type StartedNode } from "../../nodes/start-node";
import { apiService } from "../../services/api.service";
import type { DocumentedAlias } from "../../lib/http/openapi/declarations";
import { openApiPath } from "../../lib/http/openapi";
import { testTrust } from "../support/fleet-secret";
import { freePort } from "../support/node-process";
import { writeMlpModel } from "../unit/onnx/example-models";
import { seededDataDir } from "../support/pglite-template";

const ROOT = path.join(__dirname, "..", "..");
const OWNER_KEY = "mf_openapi-test-owner-key";

type Media = Record<string, { schema: Record<string, unknown> }>;
type Operation = {
	tags: string[];
	summary: string;
	parameters?: { name: string; in: string; required: boolean; schema: Record<string, unknown> }[];
	requestBody?: { content: Media };
	responses: Record<string, { description: string; content?: Media }>;
	security?: unknown[];
	"x-action": string;
	"x-undocumented"?: boolean;
};
type Document = {
	openapi: string;
	servers: { url: string }[];
	security: unknown[];
	tags: { name: string }[];
	paths: Record<string, Record<string, Operation>>;
	components: { schemas: Record<string, unknown> };
};

/** The gateway's route table, as apiService declares it. */
function routeTable(): { path: string; aliases: Record<string, string | DocumentedAlias> }[] {
	const schema = apiService({
		trust: testTrust(),
		host: "127.0.0.1",
		port: 0,
		neededServices: [],
	});
	return (
		schema.settings as {
			routes: { path: string; aliases: Record<string, string | DocumentedAlias> }[];
		}
	).routes;
}

describe("GET /api/openapi.json", () => {
	let node: StartedNode;
	let document: Document;
	let base: string;

	beforeAll(async () => {
		node = await startNode(
			"all-in-one",
			{
				HOST: "127.0.0.1",
				PORT: String(await freePort()),
				METRICS_PORT: "off",
				MODELFLEET_GRPC_PORT: "off",
				LOG_LEVEL: "error",
				MODELFLEET_DATA_DIR: await seededDataDir("mf-openapi-"),
				MODELFLEET_POOL_THREADS: "1",
				MODELFLEET_BOOTSTRAP_KEY: OWNER_KEY,
				// The webhook the sample registers points at this machine (nothing listens there).
				MODELFLEET_WEBHOOK_ALLOW_PRIVATE: "true",
			},
			() => undefined,
		);
		base = node.httpUrl ?? "";
		const response = await fetch(`${base}/api/openapi.json`);
		expect(response.status).toBe(200);
		document = (await response.json()) as Document;
	}, 60_000);

	afterAll(() => node?.stop());

	it("is OpenAPI 3.1 with servers, tags, and a key needed unless a route says otherwise", () => {
		expect(document.openapi).toBe("3.1.0");
		expect(document.servers).toEqual([expect.objectContaining({ url: "/" })]);
		expect(document.security).toEqual([{ bearer: [] }, { apiKey: [] }]);
		expect(document.tags.map(t => t.name)).toEqual(
			expect.arrayContaining(["Models", "Open Inference Protocol", "Health"]),
		);
		expect(document.paths["/v2/health/live"].get.security).toEqual([]);
		expect(document.paths["/health/ready"].get.security).toEqual([]);
		expect(document.paths["/docs"].get.security).toEqual([]);
		expect(document.paths["/"].get.security).toEqual([]);
		expect(document.paths["/console/{file}"].get.security).toEqual([]);
		expect(document.paths["/api/v1/models"].get.security).toBeUndefined();
	});

	it("documents every alias of every route beside it, with the action it calls", () => {
		let count = 0;
		const undocumented: string[] = [];
		for (const route of routeTable()) {
			for (const [alias, target] of Object.entries(route.aliases)) {
				const [method, aliasPath] = alias.split(/\s+/);
				// The console's route is `/`: no doubled slash, and `/` itself stays.
				const full = `${route.path}/${aliasPath.replace(/^\//, "")}`
					.replace(/\/+/g, "/")
					.replace(/(.)\/$/, "$1");
				const { path: documented } = openApiPath(full);
				const operation = document.paths[documented]?.[method.toLowerCase()];
				const action =
					typeof target === "string" ? target.replace(/^stream:/, "") : target.action;
				expect({ alias: `${method} ${full}`, action: operation?.["x-action"] }).toEqual({
					alias: `${method} ${full}`,
					action,
				});
				if (typeof target === "string" || operation["x-undocumented"])
					undocumented.push(`${method} ${full}`);
				count++;
			}
		}
		expect(undocumented).toEqual([]);
		expect(count).toBeGreaterThan(60);
	});

	it("gives each operation an area, a human summary and a success", () => {
		const tags = new Set(document.tags.map(t => t.name));
		for (const [where, operations] of Object.entries(document.paths))
			for (const [method, operation] of Object.entries(operations)) {
				const label = `${method.toUpperCase()} ${where}`;
				expect({ label, tagged: operation.tags.every(t => tags.has(t)) }).toEqual({
					label,
					tagged: true,
				});
				expect(operation.summary).not.toEqual(operation["x-action"]);
				expect(operation.summary).toMatch(/^[A-Z]/);
				expect({
					label,
					success: Object.keys(operation.responses).some(s => /^[23]\d\d$/.test(s)),
				}).toEqual({ label, success: true });
			}
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
		expect(Object.keys(create.responses)).toEqual(
			expect.arrayContaining(["201", "400", "401", "403", "409"]),
		);
		expect(create.responses["200"]).toBeUndefined();
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
		const infer = document.paths["/v2/models/{model}/versions/{version}/infer"].post;
		expect(
			infer.parameters?.filter(p => p.in === "path").map(p => [p.name, p.required]),
		).toEqual([
			["model", true],
			["version", true],
		]);
		expect(infer.requestBody?.content["application/json"].schema).toEqual({
			$ref: "#/components/schemas/OipInferenceRequest",
		});
		expect(infer.responses["404"].content?.["application/json"].schema).toEqual({
			$ref: "#/components/schemas/OipError",
		});
	});

	it("describes streams as they are: SSE, NDJSON, ranged downloads, uploads", () => {
		const events = document.paths["/api/v1/training-jobs/{id}/events"].get;
		expect(Object.keys(events.responses["200"].content ?? {})).toEqual(["text/event-stream"]);
		const batch = document.paths["/api/v1/models/{model}/batch-predict"].post;
		expect(Object.keys(batch.requestBody?.content ?? {})).toEqual([
			"text/csv",
			"application/x-ndjson",
		]);
		expect(Object.keys(batch.responses["200"].content ?? {})).toEqual(["application/x-ndjson"]);
		const download =
			document.paths["/api/v1/models/{model}/versions/{version}/files/{path}"].get;
		expect(download.responses["206"].content).toHaveProperty("application/octet-stream");
		expect(download.parameters?.map(p => p.name)).toContain("Range");
		const upload = document.paths["/api/v1/models/{model}/versions/upload"].post;
		expect(Object.keys(upload.requestBody?.content ?? {})).toEqual([
			"application/octet-stream",
			"multipart/form-data",
		]);
	});

	it("passes Redocly's recommended lint with no error", async () => {
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mf-openapi-lint-"));
		const file = path.join(dir, "openapi.json");
		fs.writeFileSync(file, JSON.stringify(document, null, 2));
		const run = promisify(execFile);
		const lint = await run(
			path.join(ROOT, "node_modules", ".bin", "node"),
			[
				path.join(ROOT, "node_modules", "@redocly", "cli", "bin", "cli.js"),
				"lint",
				file,
				"--config",
				path.join(ROOT, "redocly.yaml"),
				"--format=json",
			],
			{
				cwd: dir,
				env: {
					...process.env,
					REDOCLY_TELEMETRY: "off",
					REDOCLY_SUPPRESS_UPDATE_NOTICE: "true",
				},
			},
		).catch((err: { stdout?: string; stderr?: string }) => ({
			stdout: err.stdout ?? "",
			stderr: err.stderr ?? "",
		}));
		const report = JSON.parse(lint.stdout) as {
			totals: { errors: number };
			problems: { ruleId: string; severity: string; message: string }[];
		};
		expect(report.problems.filter(p => p.severity === "error")).toEqual([]);
		expect(report.totals.errors).toBe(0);
	}, 60_000);

	describe("a sample of real calls answers only what the document declares", () => {
		const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
		let viewerKey = "";

		beforeAll(() => {
			ajv.addSchema({ components: document.components }, "openapi");
		});

		/** Calls a route and checks its status, media type and body against the operation. */
		async function check(
			method: string,
			template: string,
			url: string,
			init: {
				key?: string | null;
				json?: unknown;
				body?: string | Uint8Array;
				headers?: Record<string, string>;
			} = {},
		): Promise<{ status: number; body: unknown }> {
			const key = init.key === undefined ? OWNER_KEY : init.key;
			const response = await fetch(`${base}${url}`, {
				method,
				headers: {
					"accept-encoding": "identity",
					...(key ? { authorization: `Bearer ${key}` } : {}),
					...(init.json !== undefined ? { "content-type": "application/json" } : {}),
					...init.headers,
				},
				body: init.json !== undefined ? JSON.stringify(init.json) : init.body,
			});
			const operation = document.paths[template]?.[method.toLowerCase()];
			const label = `${method} ${url} → ${response.status}`;
			expect({
				label,
				documented: operation?.responses[String(response.status)] !== undefined,
			}).toEqual({
				label,
				documented: true,
			});
			const declared = operation.responses[String(response.status)];
			const type = (response.headers.get("content-type") ?? "").split(";")[0].trim();
			const text = await response.text();
			if (declared.content === undefined) return { status: response.status, body: text };
			// moleculer-web writes an action's null as an empty body with no type: check it as null
			// against the JSON schema.
			const emptyNull = type === "" && text === "" && "application/json" in declared.content;
			if (emptyNull) {
				const validate = ajv.compile({
					$ref: `openapi#${pointerOf(declared.content["application/json"].schema)}`,
				});
				expect({ label, nullAllowed: validate(null) }).toEqual({
					label,
					nullAllowed: true,
				});
				return { status: response.status, body: null };
			}
			expect({ label, type, declared: Object.keys(declared.content) }).toEqual({
				label,
				type,
				declared: expect.arrayContaining([type]),
			});
			if (type !== "application/json") return { status: response.status, body: text };
			const body: unknown = JSON.parse(text);
			const validate = ajv.compile({
				$ref: `openapi#${pointerOf(declared.content[type].schema)}`,
			});
			expect({ label, valid: validate(body), errors: validate.errors ?? null }).toEqual({
				label,
				valid: true,
				errors: null,
			});
			return { status: response.status, body };
		}

		/** A `$ref` as a JSON pointer into the document; an inline schema goes in as a component of its own. */
		function pointerOf(schema: Record<string, unknown>): string {
			if (typeof schema.$ref === "string") return schema.$ref.slice(1);
			const name = `Inline${Object.keys(document.components.schemas).length}`;
			document.components.schemas[name] = schema;
			ajv.removeSchema("openapi");
			ajv.addSchema({ components: document.components }, "openapi");
			return `/components/schemas/${name}`;
		}

		it("health, server metadata and the docs page, without a key", async () => {
			await check("GET", "/health/live", "/health/live", { key: null });
			await check("GET", "/health/ready", "/health/ready", { key: null });
			await check("GET", "/v2", "/v2", { key: null });
			await check("GET", "/v2/health/ready", "/v2/health/ready", { key: null });
			await check("GET", "/docs", "/docs", { key: null });
			await check("GET", "/", "/", { key: null });
			expect(
				(await check("GET", "/console/{file}", "/console/nope.js", { key: null })).status,
			).toBe(404);
			await check("GET", "/docs/{file}", "/docs/swagger-ui.css", { key: null });
			expect(
				(await check("GET", "/docs/{file}", "/docs/nope.js", { key: null })).status,
			).toBe(404);
		});

		it("the registry: 201 on create, 400, 401, 403, 404, 409, 415", async () => {
			const model = { name: "mlp", task: "classification", framework: "onnx" };
			expect(
				(await check("POST", "/api/v1/models", "/api/v1/models", { json: model })).status,
			).toBe(201);
			expect(
				(await check("POST", "/api/v1/models", "/api/v1/models", { json: model })).status,
			).toBe(409);
			expect(
				(await check("POST", "/api/v1/models", "/api/v1/models", { json: { name: "x" } }))
					.status,
			).toBe(400);
			const brotli = { json: model, headers: { "content-encoding": "br" } };
			expect((await check("POST", "/api/v1/models", "/api/v1/models", brotli)).status).toBe(
				415,
			);
			expect(
				(await check("GET", "/api/v1/models", "/api/v1/models", { key: null })).status,
			).toBe(401);
			expect((await check("GET", "/api/v1/models", "/api/v1/models")).status).toBe(200);
			expect(
				(await check("GET", "/api/v1/models/{name}", "/api/v1/models/nope")).status,
			).toBe(404);
			const key = await check("POST", "/api/v1/keys", "/api/v1/keys", {
				json: { name: "viewer", role: "viewer" },
			});
			expect(key.status).toBe(201);
			viewerKey = (key.body as { key: string }).key;
			expect(
				(
					await check("POST", "/api/v1/models", "/api/v1/models", {
						key: viewerKey,
						json: { ...model, name: "v" },
					})
				).status,
			).toBe(403);
			await check("GET", "/api/v1/keys", "/api/v1/keys");
			await check("GET", "/api/v1/tenant", "/api/v1/tenant");
			await check("GET", "/api/v1/nodes", "/api/v1/nodes");
			await check("GET", "/api/v1/usage", "/api/v1/usage");
			await check("GET", "/api/v1/usage", "/api/v1/usage", {
				headers: { accept: "text/csv" },
			});
			await check("GET", "/api/v1/audit", "/api/v1/audit");
			await check("GET", "/api/v1/events", "/api/v1/events?limit=5");
			const hook = await check("POST", "/api/v1/webhooks", "/api/v1/webhooks", {
				json: { url: "http://127.0.0.1:9/modelfleet", eventTypes: ["model.*"] },
			});
			expect(hook.status).toBe(201);
			const id = (hook.body as { id: string }).id;
			await check("GET", "/api/v1/webhooks", "/api/v1/webhooks");
			await check("GET", "/api/v1/webhooks/{id}", `/api/v1/webhooks/${id}`);
			await check(
				"GET",
				"/api/v1/webhooks/{id}/deliveries",
				`/api/v1/webhooks/${id}/deliveries`,
			);
			await check("DELETE", "/api/v1/webhooks/{id}", `/api/v1/webhooks/${id}`);
			expect(
				(await check("GET", "/api/v1/webhooks/{id}", `/api/v1/webhooks/${id}`)).status,
			).toBe(404);
		});

		it("versions, downloads, predictions and the Open Inference Protocol", async () => {
			const upload = await check(
				"POST",
				"/api/v1/models/{model}/versions/upload",
				"/api/v1/models/mlp/versions/upload?version=1.0.0&state=Validated",
				{ body: writeMlpModel(), headers: { "content-type": "application/octet-stream" } },
			);
			expect(upload.status).toBe(201);
			await check(
				"GET",
				"/api/v1/models/{model}/versions/{version}",
				"/api/v1/models/mlp/versions/1.0.0",
			);
			await check("GET", "/api/v1/models/{model}/versions", "/api/v1/models/mlp/versions");
			const file = "/api/v1/models/{model}/versions/{version}/files/{path}";
			expect(
				(await check("GET", file, "/api/v1/models/mlp/versions/1.0.0/files/model.onnx"))
					.status,
			).toBe(200);
			expect(
				(
					await check("GET", file, "/api/v1/models/mlp/versions/1.0.0/files/model.onnx", {
						headers: { range: "bytes=0-9" },
					})
				).status,
			).toBe(206);
			expect(
				(
					await check("GET", file, "/api/v1/models/mlp/versions/1.0.0/files/model.onnx", {
						headers: { range: "bytes=99999-" },
					})
				).status,
			).toBe(416);
			const rows = { instances: [[1, 2, 3, 4]] };
			expect(
				(
					await check(
						"POST",
						"/api/v1/models/{model}/predict",
						"/api/v1/models/mlp/predict",
						{ json: rows },
					)
				).status,
			).toBe(200);
			const batch = await check(
				"POST",
				"/api/v1/models/{model}/batch-predict",
				"/api/v1/models/mlp/batch-predict",
				{
					body: "a,b,c,d\n1,2,3,4\n",
					headers: { "content-type": "text/csv" },
				},
			);
			expect(batch.status).toBe(200);
			await check("GET", "/v2/models/{model}", "/v2/models/mlp");
			expect((await check("GET", "/v2/models/{model}", "/v2/models/nope")).status).toBe(404);
			const infer = {
				inputs: [{ name: "x", datatype: "FP32", shape: [1, 4], data: [1, 2, 3, 4] }],
			};
			expect(
				(
					await check("POST", "/v2/models/{model}/infer", "/v2/models/mlp/infer", {
						json: infer,
					})
				).status,
			).toBe(200);
			expect(
				(
					await check("POST", "/v2/models/{model}/infer", "/v2/models/mlp/infer", {
						json: { inputs: 1 },
					})
				).status,
			).toBe(400);
			await check("GET", "/v2/models/stats", "/v2/models/stats");
			await check("GET", "/v2/models/{model}/config", "/v2/models/mlp/config");
			await check("GET", "/v2/models/{model}/ready", "/v2/models/mlp/ready");
			await check("POST", "/v2/repository/index", "/v2/repository/index", { json: {} });
			const alias = "/api/v1/models/{model}/aliases/{alias}";
			await check("PUT", alias, "/api/v1/models/mlp/aliases/champion", {
				json: { version: "1.0.0" },
			});
			await check("GET", "/api/v1/models/{model}/aliases", "/api/v1/models/mlp/aliases");
			await check("DELETE", alias, "/api/v1/models/mlp/aliases/champion");
			const deployment = { model: "mlp", version: "1.0.0" };
			expect(
				(
					await check("POST", "/api/v1/deployments", "/api/v1/deployments", {
						json: deployment,
					})
				).status,
			).toBe(201);
			await check("GET", "/api/v1/deployments", "/api/v1/deployments");
			await check("GET", "/api/v1/deployments/{model}", "/api/v1/deployments/mlp");
			await check(
				"GET",
				"/api/v1/deployments/{model}/drift",
				"/api/v1/deployments/mlp/drift",
			);
			await check(
				"GET",
				"/api/v1/deployments/{model}/health",
				"/api/v1/deployments/mlp/health",
			);
			await check(
				"GET",
				"/api/v1/deployments/{model}/captures",
				"/api/v1/deployments/mlp/captures",
			);
			await check("POST", "/api/v1/models/{model}/feedback", "/api/v1/models/mlp/feedback", {
				json: { items: [{ id: "not-captured", label: "0" }] },
			});
			expect(
				(
					await check(
						"GET",
						"/api/v1/deployments/{model}/drift",
						"/api/v1/deployments/nope/drift",
					)
				).status,
			).toBe(404);
			await check("DELETE", "/api/v1/deployments/{model}", "/api/v1/deployments/mlp");
			await check("GET", "/api/v1/training-jobs", "/api/v1/training-jobs");
			const dataset = await check(
				"POST",
				"/api/v1/datasets",
				"/api/v1/datasets?name=rows&format=csv",
				{
					body: "a,b,label\n1,2,0\n3,4,1\n",
					headers: { "content-type": "text/csv" },
				},
			);
			expect(dataset.status).toBe(201);
			await check("GET", "/api/v1/datasets/{ref}", "/api/v1/datasets/rows@1");
			await check("GET", "/api/v1/datasets", "/api/v1/datasets");
			const events = "/api/v1/training-jobs/{id}/events";
			const missing = "00000000-0000-4000-8000-000000000000";
			// Studies and runs: lists, a refused study, an unknown run.
			await check("GET", "/api/v1/studies", "/api/v1/studies");
			await check("GET", "/api/v1/runs", "/api/v1/runs?sort=metric:val_accuracy&order=desc");
			expect(
				(
					await check("POST", "/api/v1/studies", "/api/v1/studies", {
						json: { target: "mlp", base: {}, space: {}, objective: {}, budget: {} },
					})
				).status,
			).toBe(400);
			expect(
				(
					await check(
						"GET",
						"/api/v1/runs/compare",
						`/api/v1/runs/compare?ids=${missing},${missing.replace(/0$/, "1")}`,
					)
				).status,
			).toBe(404);
			expect(
				(
					await check(
						"GET",
						"/api/v1/studies/{id}/events",
						`/api/v1/studies/${missing}/events`,
					)
				).status,
			).toBe(404);
			expect(
				(await check("GET", events, `/api/v1/training-jobs/${missing}/events`)).status,
			).toBe(404);
			expect(
				(
					await check("POST", "/v2/models/{model}/infer", "/v2/models/mlp/infer", {
						key: null,
						json: infer,
					})
				).status,
			).toBe(401);
		});
	});
});
