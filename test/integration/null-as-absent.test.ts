/**
 * "An optional parameter sent as JSON null behaves exactly as if it were left out", swept over
 * the REST routes the API fuzzer knows (REST_ROUTES in test/support/fuzz/api-fuzzer.ts, each
 * with its well-formed body) on an all-in-one node. The fields of a route are the optional ones
 * the gateway's OpenAPI document gives its body (not those it marks nullable: there null means
 * something), nested ones included, and the keys of the body the document leaves to the action
 * (a training job's spec). Each field is sent left out, then null, then left out again: no
 * answer may be 5xx, and where the two answers without it agree (the first changed nothing the
 * second sees), the answer with null must be the same: status and body (an error's too), up to
 * ids, secrets and times.
 */
import { SeededRandom } from "../../lib/datasets/seeded-random";
import type { JsonSchema } from "../../lib/http/openapi";
import { ApiFuzzer, REST_ROUTES, type FuzzWorld } from "../support/fuzz/api-fuzzer";
import { buildFuzzWorld } from "../support/fuzz/fuzz-world";
import { startTestNode, type TestNode, type TestReply } from "../support/test-node";

const KEY = "mf_null-as-absent-owner";
const NO_SUCH_ID = "00000000-0000-4000-8000-000000000000";
/** The model of the routes the fuzzer sends to a throw-away one (`:scratch`): changed, deployed. */
const SCRATCH = "scratch";

/**
 * The fuzzer's well-formed body of each route: the first of each list of choices (the fuzzer
 * lists the good value first), and only what it adds more often than not (its odd extras are
 * rarer).
 */
class FirstChoice extends SeededRandom {
	override next(): number {
		return 0.5;
	}
	override int(): number {
		return 0;
	}
}

type Path = readonly (string | number)[];

interface Field {
	path: Path;
	/** In the OpenAPI document, as optional and not nullable; else a key it leaves to the action. */
	described: boolean;
}

interface Answer {
	status: number;
	/** The body (an error's too) with ids, secrets and times masked. */
	view: string;
}

function isObject(value: unknown): value is Record<string, unknown> {
	return typeof value === "object" && value !== null && !Array.isArray(value);
}

function nullable(schema: JsonSchema): boolean {
	return (
		(Array.isArray(schema.type) && schema.type.includes("null")) ||
		(Array.isArray(schema.anyOf) && schema.anyOf.some(s => isObject(s) && s.type === "null"))
	);
}

/** The fields to sweep in `body`, as `schema` (an object's JSON Schema) describes it. */
function fieldsOf(schema: JsonSchema, body: unknown, path: Path = []): Field[] {
	const properties = isObject(schema.properties)
		? (schema.properties as Record<string, JsonSchema>)
		: {};
	const required = Array.isArray(schema.required) ? schema.required : [];
	const fields: Field[] = [];
	for (const [name, property] of Object.entries(properties)) {
		const at = [...path, name];
		const given = isObject(body) ? body[name] : undefined;
		if (!required.includes(name) && !nullable(property))
			fields.push({ path: at, described: true });
		if (isObject(property.properties)) fields.push(...fieldsOf(property, given, at));
		const items = property.items;
		if (isObject(items) && Array.isArray(given) && isObject(given[0]))
			fields.push(...fieldsOf(items, given[0], [...at, 0]));
	}
	// A key at the top the document does not describe is one the action reads itself (a
	// training job's spec, an inference request); further down, keys may be free-form data.
	if (path.length === 0 && isObject(body))
		for (const name of Object.keys(body))
			if (!(name in properties)) fields.push({ path: [name], described: false });
	return fields;
}

/** `body` with the field at `path` set to null, or deleted (its parents made where missing). */
function withField(body: unknown, path: Path, value: null | "absent"): unknown {
	const copy = structuredClone(body) as Record<string | number, unknown>;
	let holder = copy;
	for (const key of path.slice(0, -1)) {
		if (typeof holder[key] !== "object" || holder[key] === null) holder[key] = {};
		holder = holder[key] as Record<string | number, unknown>;
	}
	const last = path[path.length - 1];
	if (value === null) holder[last] = null;
	else delete holder[last];
	return copy;
}

/** What may differ between two answers to the same request: ids, keys, secrets and times. */
function masked(value: unknown): unknown {
	if (Array.isArray(value)) return value.map(masked);
	if (isObject(value))
		return Object.fromEntries(
			Object.entries(value).map(([k, v]) => [
				k,
				/(^id$|Id$|At$|^key$|secret|requestId|duration|latency)/i.test(k) ? "…" : masked(v),
			]),
		);
	if (typeof value === "string" && /^\d{4}-\d\d-\d\dT|^[0-9a-f-]{36}$/.test(value)) return "…";
	return value;
}

describe("an optional field sent as null, on every REST route the fuzzer knows", () => {
	let node: TestNode;
	let world: FuzzWorld;
	let hook: string;
	let openApi: { paths: Record<string, Record<string, { requestBody?: unknown }>> };

	beforeAll(async () => {
		node = await startTestNode(KEY, {
			MODELFLEET_POOL_THREADS: "1",
			MODELFLEET_GPUS: "none",
			LOG_LEVEL: "error",
			// A webhook on this machine to change: every target here is a private one.
			MODELFLEET_WEBHOOK_ALLOW_PRIVATE: "true",
		});
		// No training: the model's latest version stays the MLP the bodies are made for.
		world = await buildFuzzWorld(node.node.httpUrl as string, KEY, {
			extraModels: [SCRATCH],
			train: false,
		});
		// What the routes about an existing deployment change.
		const deployed = await node.request("/deployments", {
			method: "POST",
			body: { model: SCRATCH, replicas: 1 },
		});
		expect(deployed.status).toBe(201);
		const created = await node.request("/webhooks", {
			method: "POST",
			body: { url: "http://127.0.0.1:1/hook", eventTypes: ["model.deleted"] },
		});
		expect(created.status).toBe(201);
		hook = (created.body as { id: string }).id;
		openApi = (await (await fetch(`${node.node.httpUrl}/api/openapi.json`)).json()) as never;
	}, 60_000);

	afterAll(() => node?.stop());

	/** The route's path with the world's names (the fuzzer's well-formed choice for each). */
	function filled(template: string): string {
		const names: Record<string, string> = {
			model: world.model,
			scratch: SCRATCH,
			version: world.version,
			alias: "champion",
			dataset: world.dataset,
			job: world.jobId,
			hook,
		};
		return template.replace(/:(\w+)/g, (_m, name: string) =>
			encodeURIComponent(names[name] ?? NO_SUCH_ID),
		);
	}

	/** The JSON Schema of the route's body in the OpenAPI document (its parameter names may differ). */
	function bodySchema(method: string, template: string): JsonSchema {
		const pattern = new RegExp(
			`^/api/v1${template.replace(/:\w+/g, "\\{[^}]+\\}").replace(/\?.*$/, "")}$`,
		);
		const path = Object.keys(openApi.paths).find(p => pattern.test(p));
		const body = path
			? (openApi.paths[path][method.toLowerCase()]?.requestBody as
					{ content?: Record<string, { schema?: JsonSchema }> } | undefined)
			: undefined;
		return body?.content?.["application/json"]?.schema ?? {};
	}

	async function send(method: string, path: string, body: unknown): Promise<Answer> {
		const reply = await node.request(path, { method, body });
		if (reply.status === 201) await undo(path, reply);
		return { status: reply.status, view: JSON.stringify(masked(reply.body)) };
	}

	/**
	 * What a create made is taken away again, so the next request of the sweep creates anew
	 * (and no training runs): a model, deployment or webhook is deleted, a training job cancelled.
	 */
	async function undo(path: string, reply: TestReply): Promise<void> {
		const location = reply.headers.get("location")?.replace(/^\/api\/v1/, "");
		if (path === "/training-jobs")
			await node.request(`/training-jobs/${(reply.body as { id: string }).id}/cancel`, {
				method: "POST",
			});
		else if (location !== undefined && location !== path)
			await node.request(location, { method: "DELETE" });
	}

	it("answers as if it were left out, and never with a 5xx", async () => {
		const fuzzer = new ApiFuzzer(new FirstChoice(0), world);
		const differences: string[] = [];
		const serverErrors: string[] = [];
		const swept: string[] = [];
		let compared = 0;
		for (const route of REST_ROUTES) {
			if (route.body === undefined || route.stream) continue;
			const body = route.body(world, fuzzer);
			const path = filled(route.path);
			for (const { path: at, described } of fieldsOf(
				bodySchema(route.method, route.path),
				body,
			)) {
				const field = `${route.method} ${route.path} ${at.join(".")}${described ? "" : " (spec)"}`;
				const before = await send(route.method, path, withField(body, at, "absent"));
				const asNull = await send(route.method, path, withField(body, at, null));
				const after = await send(route.method, path, withField(body, at, "absent"));
				for (const [what, answer] of [
					["left out", before],
					["null", asNull],
					["left out again", after],
				] as const)
					if (answer.status >= 500)
						serverErrors.push(`${field}, ${what}: ${answer.status} ${answer.view}`);
				swept.push(`${route.method} ${route.path} ${at.join(".")}`);
				if (before.status !== after.status || before.view !== after.view) continue;
				compared++;
				if (asNull.status !== before.status || asNull.view !== before.view)
					differences.push(
						`${field}: null → ${asNull.status} ${asNull.view.slice(0, 300)}; left out → ${before.status} ${before.view.slice(0, 300)}`,
					);
			}
		}
		console.log(`null sweep: ${swept.length} fields, ${compared} with answers to compare`);
		expect({ serverErrors, differences }).toEqual({ serverErrors: [], differences: [] });
		// The sweep reached the routes' fields, not only their doors, the fuzzer's findings among them.
		expect(compared).toBeGreaterThan(100);
		expect(swept).toEqual(
			expect.arrayContaining([
				"POST /deployments replicas",
				"POST /deployments resources",
				"PATCH /webhooks/:hook url",
				"POST /models/:model/explain background",
				"POST /training-jobs earlyStopping",
			]),
		);
	}, 60_000);
});
