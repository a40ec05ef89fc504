/**
 * The auth matrix: every route of /api/v1 and /v2, as the gateway's OpenAPI document lists
 * them, called with no key, a bad key, a key of each role and the owner key of another tenant.
 * What each answers follows the role table of docs/http-api.md ("What each role may do"; the gateway's
 * own actions stand for the row they serve): 401 without a valid key, 403 for a role the table
 * does not give the route's action, 404 for another tenant's objects, never a 5xx; public
 * routes answer whatever the key.
 *
 * Calls that are allowed must not change what the other calls rely on: allowed writes name
 * objects that do not exist (a 404) or send bodies that do not validate (a 400). Calls that
 * must be refused send what would otherwise be accepted — parameters are validated before the
 * role is checked, so an invalid body would answer 400 and hide a missing permission check.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { randomUUID } from "node:crypto";
import { rolesWith, type Permission, type Role } from "../../lib/accounts/roles";
import type { StartedNode } from "../../nodes/start-node";
import { waitFor } from "../support/wait";
import { startTestNode, type TestNode } from "../support/test-node";
import { writeMlpModel } from "../unit/onnx/example-models";

const OWNER_KEY = "mf_auth-matrix-owner";
const ROLES: readonly Role[] = ["owner", "developer", "predictor", "viewer"];
const ROLE_TABLE_DOC = path.join(__dirname, "..", "..", "docs", "http-api.md");
/** Actions any caller with a valid key may call: fleet-wide views with nothing of a tenant's. */
const ANY_KEY = new Set(["scheduler.nodes"]);
/** The gateway's own actions, and the row of the role table each one serves. */
const ROW_OF: Readonly<Record<string, string>> = {
	"api.predict": "predictor.infer",
	"api.v2Infer": "predictor.infer",
	"api.batchPredict": "predictor.infer",
	"api.v2Model": "registry.versions.get",
	"api.v2ModelReady": "registry.versions.get",
	"api.v2ModelConfig": "registry.versions.get",
	"api.v2Stats": "predictor.statistics",
	"api.uploadVersion": "registry.versions.import",
	"api.downloadFile": "registry.versions.files",
	"api.exportCaptures": "scheduler.monitoring.captures",
	"api.uploadArtifact": "registry.versions.import",
	"api.uploadDataset": "registry.datasets.create",
	"api.trainingEvents": "scheduler.jobs.get",
	"api.studyEvents": "scheduler.studies.get",
	"api.eventStream": "events.list",
	"api.repositoryIndex": "registry.models.list",
	"api.repositoryLoad": "scheduler.deployments.create",
	"api.repositoryUnload": "scheduler.deployments.delete",
};

interface TableRow {
	roles: Role[];
	/** "✓ (admin tenant only)": owners of an admin tenant only. */
	adminOnly: boolean;
}

/**
 * The role table of docs/http-api.md, by action. A cell of several names may shorten the later ones to
 * their last part (`scheduler.deployments.create`, `.update`).
 */
function readmeRoleTable(): Map<string, TableRow> {
	const text = fs.readFileSync(ROLE_TABLE_DOC, "utf8");
	const lines = text.slice(text.indexOf("What each role may do")).split("\n");
	const table = new Map<string, TableRow>();
	let started = false;
	for (const line of lines) {
		if (!line.startsWith("|")) {
			if (started) break;
			continue;
		}
		started = true;
		const cells = line
			.split("|")
			.slice(1, -1)
			.map(cell => cell.trim());
		const names = [...cells[0].matchAll(/`([^`]+)`/g)].map(m => m[1]);
		if (names.length === 0 || !names[0].includes(".")) continue;
		const row: TableRow = {
			roles: ROLES.filter((_, i) => cells[i + 1].startsWith("✓")),
			adminOnly: cells[1].includes("admin tenant only"),
		};
		let prefix = "";
		for (const name of names) {
			const full = name.startsWith(".") ? prefix + name : name;
			prefix = full.slice(0, full.lastIndexOf("."));
			table.set(full, row);
		}
	}
	return table;
}

interface Operation {
	"x-action": string;
	security?: unknown[];
}
type Document = { paths: Record<string, Record<string, Operation>> };

interface Route {
	method: string;
	/** The documented path, e.g. /api/v1/models/{model}. */
	template: string;
	action: string;
	public: boolean;
	/** The path parameters: an object of the tenant's when there are any. */
	params: string[];
}

type Identity =
	| { kind: "none" }
	| { kind: "bad" }
	| { kind: "role"; role: Role; key: string }
	| { kind: "other-tenant"; key: string };

function describeIdentity(identity: Identity): string {
	return identity.kind === "role" ? identity.role : identity.kind;
}

describe("auth matrix: every route × {no key, bad key, each role, another tenant}", () => {
	let testNode: TestNode;
	let node: StartedNode;
	let base: string;
	let routes: Route[];
	const identities: Identity[] = [{ kind: "none" }, { kind: "bad" }];
	/** The tenant's real objects, by path parameter. */
	const real: Record<string, string> = {
		model: "m",
		name: "m",
		version: "1.0.0",
		alias: "champion",
		ref: "d@1",
		path: "model.onnx",
		delivery: randomUUID(),
	};
	/** Objects that do not exist, for allowed calls that would otherwise change something. */
	const missing: Record<string, string> = {
		model: "nope",
		name: "nope",
		version: "1.0.0",
		alias: "champion",
		ref: "nope@1",
		path: "nope.onnx",
		id: randomUUID(),
		delivery: randomUUID(),
	};
	let permissions: Map<string, Permission | undefined>;
	const roleTable = readmeRoleTable();

	/** The role table's row for a route's action; undefined for routes any key may call. */
	function rowOf(route: Route): TableRow | undefined {
		if (ANY_KEY.has(route.action)) return undefined;
		return roleTable.get(ROW_OF[route.action] ?? route.action);
	}

	async function send(
		method: string,
		route: string,
		key: string | null,
		body?: { type: string; data: string | Uint8Array },
	): Promise<{ status: number; body: Record<string, unknown> | null }> {
		const response = await fetch(`${base}${route}`, {
			method,
			headers: {
				...(key !== null ? { authorization: `Bearer ${key}` } : {}),
				...(body ? { "content-type": body.type } : {}),
			},
			body: body?.data,
		});
		// An event stream that opened never ends by itself: its status is the answer.
		if (/^text\/event-stream/.test(response.headers.get("content-type") ?? "")) {
			await response.body?.cancel();
			return { status: response.status, body: null };
		}
		const text = await response.text();
		let parsed: Record<string, unknown> | null = null;
		try {
			parsed = JSON.parse(text) as Record<string, unknown>;
		} catch {
			// SSE and NDJSON answers are not one JSON value.
		}
		return { status: response.status, body: parsed };
	}

	const json = (value: unknown) => ({ type: "application/json", data: JSON.stringify(value) });

	/** A body that passes each route's validation, so a tenant check behind it is reached. */
	function bodyFor(route: Route): { type: string; data: string | Uint8Array } | undefined {
		if (route.method === "get" || route.method === "delete") return undefined;
		switch (`${route.method} ${route.template}`) {
			case "post /api/v1/models/{model}/versions":
				return json({
					version: "9.0.0",
					format: "onnx",
					schema: {
						inputs: [{ name: "x", datatype: "FP32", shape: [-1, 1] }],
						outputs: [{ name: "y", datatype: "FP32", shape: [-1, 1] }],
					},
				});
			case "post /api/v1/models/{model}/versions/{version}/transition":
				return json({ to: "Validated" });
			case "put /api/v1/models/{model}/aliases/{alias}":
				return json({ version: "1.0.0" });
			case "post /api/v1/deployments/{model}/scale":
				return json({ replicas: 1 });
			case "post /api/v1/models/{model}/versions/{version}/optimize":
				return json({ recipe: "graph" });
			case "patch /api/v1/runs/{id}":
				return json({ tags: ["matrix"] });
			case "post /api/v1/models/{model}/versions/{version}/importance":
				return json({ dataset: "d@1" });
			case "post /api/v1/models/{model}/feedback":
				return json({ items: [{ id: "p1", label: "1" }] });
			case "post /api/v1/models/{model}/predict":
			case "post /api/v1/models/{model}/versions/{version}/predict":
				return json({ instances: [[1, 2, 3, 4]] });
			case "post /v2/models/{model}/infer":
			case "post /v2/models/{model}/versions/{version}/infer":
				return json({
					inputs: [{ name: "x", datatype: "FP32", shape: [1, 4], data: [1, 2, 3, 4] }],
				});
			case "post /api/v1/models/{model}/batch-predict":
			case "post /api/v1/models/{model}/versions/{version}/batch-predict":
				return { type: "text/csv", data: "a,b,c,d\n1,2,3,4\n" };
			case "post /api/v1/models/{model}/versions/upload":
			case "post /api/v1/artifacts":
			case "post /api/v1/datasets":
				return { type: "application/octet-stream", data: writeMlpModel() };
			default:
				return json({});
		}
	}

	/** Valid input for the routes without path parameters that create something. */
	const CREATES: Record<string, { query?: string; body: { type: string; data: string } }> = {
		"post /api/v1/models": {
			body: json({ name: "made-by-matrix", task: "other", framework: "onnx" }),
		},
		"post /api/v1/keys": { body: json({ name: "made-by-matrix", role: "viewer" }) },
		"post /api/v1/tenants": { body: json({ name: "made-by-matrix" }) },
		"post /api/v1/deployments": { body: json({ model: "m" }) },
		"post /api/v1/training-jobs": {
			body: json({ target: "m", dataset: "d@1", labelColumn: "label", epochs: 1 }),
		},
		"post /api/v1/studies": {
			body: json({
				target: "m",
				base: { dataset: "d@1", labelColumn: "label", epochs: 1 },
				space: { learningRate: { type: "uniform", min: 0.01, max: 0.1 } },
				objective: { metric: "val_accuracy" },
				budget: { trials: 1 },
			}),
		},
		"post /api/v1/datasets": {
			query: "?name=made-by-matrix&format=csv",
			body: { type: "text/csv", data: "a,label\n1,x\n2,y\n" },
		},
	};

	function pathOf(route: Route, values: Record<string, string>): string {
		return route.template.replace(/\{(\w+)\}/g, (_, name: string) => values[name]);
	}

	/** What a call must answer: an exact status, or "allowed" (neither 401 nor 403, no 5xx). */
	function expected(route: Route, identity: Identity): number | "allowed" {
		if (route.public) return 200;
		if (identity.kind === "none" || identity.kind === "bad") return 401;
		const role: Role = identity.kind === "role" ? identity.role : "owner";
		const row = rowOf(route);
		if (row !== undefined && !row.roles.includes(role)) return 403;
		if (identity.kind === "other-tenant") {
			// Only the bootstrap tenant is an admin tenant.
			if (row?.adminOnly) return 403;
			if (route.params.length > 0) return 404;
		}
		return "allowed";
	}

	beforeAll(async () => {
		testNode = await startTestNode(OWNER_KEY, {
			LOG_LEVEL: "error",
			MODELFLEET_POOL_THREADS: "1",
			MODELFLEET_GPUS: "none",
		});
		node = testNode.node;
		base = node.httpUrl!;
		const owner = (
			method: string,
			route: string,
			body?: { type: string; data: string | Uint8Array },
		) => send(method, route, OWNER_KEY, body);

		// The tenant's objects: a model with a Validated version, an alias and a deployment, a
		// dataset, a training job (cancelled, so its event stream ends), a spare key.
		expect(
			(
				await owner(
					"POST",
					"/api/v1/models",
					json({ name: "m", task: "other", framework: "onnx" }),
				)
			).status,
		).toBe(201);
		expect(
			(
				await owner(
					"POST",
					"/api/v1/models/m/versions/upload?version=1.0.0&state=Validated",
					{
						type: "application/octet-stream",
						data: writeMlpModel(),
					},
				)
			).status,
		).toBe(201);
		expect(
			(await owner("PUT", "/api/v1/models/m/aliases/champion", json({ version: "1.0.0" })))
				.status,
		).toBe(200);
		expect(
			(await owner("POST", "/api/v1/deployments", json({ model: "m", version: "1.0.0" })))
				.status,
		).toBe(201);
		const iris = fs.readFileSync(
			path.join(__dirname, "..", "fixtures", "datasets", "iris.csv"),
		);
		expect(
			(
				await owner("POST", "/api/v1/datasets?name=d&format=csv&labelColumn=label", {
					type: "text/csv",
					data: iris,
				})
			).status,
		).toBe(201);
		const job = await owner(
			"POST",
			"/api/v1/training-jobs",
			json({ target: "m", dataset: "d@1", labelColumn: "label", epochs: 1 }),
		);
		expect(job.status).toBe(201);
		real.id = job.body!.id as string;
		await owner("POST", `/api/v1/training-jobs/${real.id}/cancel`, json({}));
		await waitFor(
			"the training job to end",
			async () => {
				const state = (await owner("GET", `/api/v1/training-jobs/${real.id}`)).body?.state;
				return state === "queued" || state === "running" ? undefined : state;
			},
			30_000,
		);
		// A study of the tenant, cancelled at once (its trial job with it).
		const study = await owner(
			"POST",
			"/api/v1/studies",
			json({
				target: "m",
				base: { dataset: "d@1", labelColumn: "label", epochs: 1 },
				space: { learningRate: { type: "uniform", min: 0.01, max: 0.1 } },
				objective: { metric: "val_accuracy" },
				budget: { trials: 1 },
			}),
		);
		expect(study.status).toBe(201);
		real.studyId = study.body!.id as string;
		await owner("POST", `/api/v1/studies/${real.studyId}/cancel`, json({}));
		for (const role of ROLES) {
			const created = await owner("POST", "/api/v1/keys", json({ name: role, role }));
			expect(created.status).toBe(201);
			identities.push({ kind: "role", role, key: created.body!.key as string });
		}
		const spare = await owner("POST", "/api/v1/keys", json({ name: "spare", role: "viewer" }));
		real.keyId = spare.body!.id as string;
		// A webhook of the tenant (a public literal address: nothing to resolve; an event type the
		// matrix never causes, so nothing is sent): another tenant must get 404 for it.
		const hook = await owner(
			"POST",
			"/api/v1/webhooks",
			json({ url: "https://93.184.215.14/hook", eventTypes: ["prediction.summary"] }),
		);
		expect(hook.status).toBe(201);
		real.webhookId = hook.body!.id as string;
		const other = await owner("POST", "/api/v1/tenants", json({ name: "other" }));
		expect(other.status).toBe(201);
		identities.push({
			kind: "other-tenant",
			key: (other.body!.ownerKey as { key: string }).key,
		});

		const document = (await (await fetch(`${base}/api/openapi.json`)).json()) as Document;
		routes = Object.entries(document.paths)
			.filter(([template]) => template.startsWith("/api/v1") || template.startsWith("/v2"))
			.flatMap(([template, operations]) =>
				Object.entries(operations).map(([method, operation]) => ({
					method,
					template,
					action: operation["x-action"],
					// Keyed routes take the document's default; public ones say `security: []`.
					public: Array.isArray(operation.security) && operation.security.length === 0,
					params: [...template.matchAll(/\{(\w+)\}/g)].map(m => m[1]),
				})),
			);
		permissions = new Map(
			node.broker.registry
				.getActionList({ skipInternal: true })
				.map(item => [
					item.name,
					(item.action as { permission?: Permission } | undefined)?.permission,
				]),
		);
	}, 120_000);

	afterAll(() => testNode?.stop());

	it("covers every route of /api/v1 and /v2, each with a row of the role table its action enforces", () => {
		expect(routes.length).toBeGreaterThan(50);
		expect(roleTable.size).toBeGreaterThan(20);
		const problems: string[] = [];
		for (const route of routes.filter(r => !r.public && !ANY_KEY.has(r.action))) {
			const row = rowOf(route);
			const permission = permissions.get(route.action);
			const where = `${route.method} ${route.template} → ${route.action}`;
			if (row === undefined)
				problems.push(`${where}: no row in the role table of docs/http-api.md`);
			else if (permission === undefined)
				problems.push(`${where}: the action requires no permission`);
			else if (rolesWith(permission).join() !== row.roles.join())
				problems.push(
					`${where}: requires ${permission} (${rolesWith(permission).join(", ")}), the table says ${row.roles.join(", ")}`,
				);
		}
		expect(problems).toEqual([]);
	});

	it("answers 401, 403 and 404 exactly as the role table says, and never 5xx", async () => {
		const mismatches: string[] = [];
		for (const route of routes) {
			for (const identity of identities) {
				const want = expected(route, identity);
				const key =
					identity.kind === "none"
						? null
						: identity.kind === "bad"
							? "mf_not-a-key"
							: identity.key;
				// Allowed writes in the tenant name missing objects: nothing real changes.
				const values =
					want === "allowed" && identity.kind === "role" && route.method !== "get"
						? missing
						: {
								...real,
								id: route.template.includes("/keys/")
									? real.keyId
									: route.template.includes("/webhooks/")
										? real.webhookId
										: route.template.includes("/studies/")
											? real.studyId
											: real.id,
							};
				const create =
					want === "allowed" && identity.kind === "role"
						? undefined
						: CREATES[`${route.method} ${route.template}`];
				const url = pathOf(route, values) + (create?.query ?? "");
				const answer = await send(
					route.method.toUpperCase(),
					url,
					key,
					create?.body ?? bodyFor(route),
				);
				const ok =
					want === "allowed"
						? answer.status !== 401 && answer.status !== 403 && answer.status < 500
						: answer.status === want;
				// Refusals carry the protocol's error body: {error} on /v2, {type} on /api/v1.
				const shaped =
					typeof want !== "number" || want === 200
						? true
						: url.startsWith("/v2")
							? Object.keys(answer.body ?? {}).join() === "error"
							: answer.body?.type ===
								{ 401: "UNAUTHENTICATED", 403: "FORBIDDEN", 404: "NOT_FOUND" }[
									want
								];
				if (!ok || !shaped)
					mismatches.push(
						`${route.method.toUpperCase()} ${url} as ${describeIdentity(identity)}: ` +
							`${answer.status} ${JSON.stringify(answer.body)?.slice(0, 160)}, expected ${want}`,
					);
			}
		}
		expect(mismatches).toEqual([]);
	}, 120_000);

	it("refuses a role before it validates the request: 403 even for a malformed body", async () => {
		const viewer = identities.find(
			(i): i is Extract<Identity, { kind: "role" }> =>
				i.kind === "role" && i.role === "viewer",
		)!;
		const reply = await send("POST", "/api/v1/models", viewer.key, json({ name: 42 }));
		expect(reply.status).toBe(403);
		expect(reply.body).toMatchObject({ type: "FORBIDDEN" });
		const owner = identities.find(
			(i): i is Extract<Identity, { kind: "role" }> =>
				i.kind === "role" && i.role === "owner",
		)!;
		expect((await send("POST", "/api/v1/models", owner.key, json({ name: 42 }))).status).toBe(
			400,
		);
	});

	it("left the tenant's objects as they were", async () => {
		const owner = (route: string) => send("GET", route, OWNER_KEY);
		expect((await owner("/api/v1/models/m/versions/champion")).body).toMatchObject({
			version: "1.0.0",
			state: "Deployed",
		});
		expect((await owner("/api/v1/deployments/m")).body).toMatchObject({ replicas: 1 });
		const keys = (await owner("/api/v1/keys")).body as unknown as {
			id: string;
			revokedAt: string | null;
		}[];
		expect(keys.find(k => k.id === real.keyId)).toMatchObject({ revokedAt: null });
		const other = identities.find(i => i.kind === "other-tenant") as { key: string };
		const theirs = (await send("GET", "/api/v1/models", other.key)).body as {
			items: { name: string }[];
		};
		expect(theirs.items.map(m => m.name)).not.toContain("m");
	});
});
