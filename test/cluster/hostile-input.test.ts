/**
 * Issue 11's deep bodies through a fleet's gateway over the real NATS server: before, the
 * gateway passed them on and the transporter's CBOR overflowed (500). Now the gateway refuses
 * them at the edge (400 JSON_TOO_DEEP), as it does NUL in a path and a malformed cursor, and
 * the fleet keeps answering.
 */
import { randomUUID } from "node:crypto";
import { createPostgresDatabase } from "../support/databases";
import { describeWithServices } from "../support/external-services";
import { FAST_LOOPS, FleetProcesses } from "../support/fleet-processes";
import { apiClient } from "../support/test-node";
import { waitFor } from "../support/wait";
import { MLP_EXAMPLE, writeMlpModel } from "../unit/onnx/example-models";

const OWNER_KEY = `mf_hostile-fleet-${randomUUID()}`;

/** A JSON body with `field` nested 10,000 deep (`{"a":{"a":…}}`, ~60 KB). */
function deepBody(fields: Record<string, unknown>, field: string): string {
	const deep = '{"a":'.repeat(9_999) + "{}" + "}".repeat(9_999);
	return JSON.stringify({ ...fields, [field]: "__DEEP__" }).replace('"__DEEP__"', deep);
}

const GOOD_INFER = {
	inputs: [{ name: "x", shape: [2, 4], datatype: "FP32", data: MLP_EXAMPLE.x }],
};

describeWithServices(["nats", "postgres"], "hostile input through a fleet's gateway", () => {
	const cluster = new FleetProcesses("hostile-test", FAST_LOOPS);
	let gateway: string;
	let database: { url: string; drop(): Promise<void> };

	async function send(method: string, path: string, body?: string) {
		const response = await fetch(`${gateway}${path}`, {
			method,
			headers: {
				authorization: `Bearer ${OWNER_KEY}`,
				...(body !== undefined ? { "content-type": "application/json" } : {}),
			},
			body,
		});
		const text = await response.text();
		return { status: response.status, text };
	}

	beforeAll(async () => {
		database = await createPostgresDatabase();
		gateway = await cluster.startBasicFleet({ ownerKey: OWNER_KEY, databaseUrl: database.url });
		const api = apiClient(`${gateway}/api/v1`, OWNER_KEY);
		await waitFor(
			"the fleet up: the gateway answers with its worker",
			async () => {
				const nodes = await api("/nodes").catch(() => null);
				if (nodes?.status !== 200) return undefined;
				return (nodes.body as unknown[]).length >= 2 ? true : undefined;
			},
			90_000,
		).catch(cluster.failWithLogs);
		expect(
			(
				await api("/models", {
					method: "POST",
					body: { name: "mlp", task: "other", framework: "onnx" },
				})
			).status,
		).toBe(201);
		const uploaded = await fetch(`${gateway}/api/v1/models/mlp/versions/upload?version=1.0.0`, {
			method: "POST",
			headers: { authorization: `Bearer ${OWNER_KEY}` },
			body: writeMlpModel(),
		});
		expect(uploaded.status).toBe(201);
	}, 120_000);

	afterAll(async () => {
		await cluster.killAll();
		await database?.drop();
	});

	it.each<[string, string, string, Record<string, unknown>]>([
		["PATCH", "/api/v1/models/mlp", "tags", {}],
		["PATCH", "/api/v1/models/mlp/versions/1.0.0", "metrics", {}],
		["PATCH", "/api/v1/deployments/mlp", "traffic", {}],
		["POST", "/api/v1/deployments", "replicas", { model: "mlp" }],
		["POST", "/api/v1/training-jobs", "model", { dataset: "x" }],
		["POST", "/api/v1/models/mlp/predict", "parameters", GOOD_INFER],
		["POST", "/v2/models/mlp/infer", "parameters", GOOD_INFER],
	])("%s %s with a deep %s answers 400, not 500", async (method, path, field, fields) => {
		const reply = await send(method, path, deepBody(fields, field));
		expect({
			status: reply.status,
			limit: reply.text.includes("MODELFLEET_MAX_JSON_DEPTH"),
		}).toEqual({ status: 400, limit: true });
	});

	it("answers NUL in a path and a malformed cursor with 400, and keeps serving", async () => {
		expect((await send("GET", "/api/v1/models/a%00b")).status).toBe(400);
		expect((await send("GET", "/api/v1/models?cursor=abc")).status).toBe(400);
		expect((await send("GET", "/api/v1/audit?cursor=9223372036854776000")).status).toBe(400);
		expect((await send("GET", "/api/v1/models/mlp")).status).toBe(200);
		await waitFor(
			"a prediction through the worker",
			async () =>
				(await send("POST", "/v2/models/mlp/infer", JSON.stringify(GOOD_INFER))).status ===
				200
					? true
					: undefined,
			60_000,
		);
		expect(cluster.processes.filter(p => p.child.exitCode !== null).map(p => p.name)).toEqual(
			[],
		);
	}, 90_000);
});
