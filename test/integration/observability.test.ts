/**
 * What the gateway does for observability on every request (issue 18): an `X-Request-ID` on
 * every answer — REST, OIP, health, the direct infer route, errors of the edge and of
 * moleculer-web alike — the client's own when it is a sane token; and, with LOG_FORMAT=json, log
 * lines that carry the request id, trace id, tenant and node of the call that wrote them.
 */
import { randomUUID } from "node:crypto";
import { ServiceBroker, type Context } from "moleculer";
import { jsonLogFormatter, logContextMiddleware } from "../../lib/observability/log-context";
import { startTestNode, type TestNode } from "../support/test-node";

const OWNER_KEY = `mf_obs-${randomUUID()}`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe("X-Request-ID on every answer", () => {
	let node: TestNode;
	let base: string;

	beforeAll(async () => {
		node = await startTestNode(OWNER_KEY);
		base = node.node.httpUrl ?? "";
	});
	afterAll(() => node.stop());

	const auth = { authorization: `Bearer ${OWNER_KEY}` };
	const infer = JSON.stringify({
		inputs: [{ name: "x", datatype: "FP32", shape: [1, 1], data: [1] }],
	});
	/** One request of each route family, answering 2xx, 4xx and the edge's own refusals. */
	const sweep: Array<[string, string, RequestInit, number]> = [
		["GET", "/health/live", {}, 200],
		["GET", "/api/openapi.json", {}, 200],
		["GET", "/api/v1/models", { headers: auth }, 200],
		["GET", "/api/v1/models", {}, 401],
		["GET", "/api/v1/no-such-route", { headers: auth }, 404],
		[
			"POST",
			"/api/v1/models",
			{ headers: { ...auth, "content-type": "application/json" }, body: "{" },
			400,
		],
		["GET", "/v2", {}, 200],
		["GET", "/v2/models/nope", { headers: auth }, 404],
		["POST", "/v2/models/nope/infer", { body: infer }, 401],
		["POST", "/v2/models/nope/infer", { headers: auth, body: infer }, 404],
		["POST", "/v2/models/nope/infer", { headers: auth, body: "{" }, 400],
		["GET", "/api/v1/models/%zz", { headers: auth }, 400],
		["GET", "/nowhere", {}, 404],
	];

	it.each(sweep)("%s %s answers with a new request id", async (method, path, init, status) => {
		const response = await fetch(`${base}${path}`, { method, ...init });
		await response.arrayBuffer();
		expect(response.status).toBe(status);
		expect(response.headers.get("x-request-id")).toMatch(UUID);
	});

	it.each(sweep)("%s %s echoes the client's sane request id", async (method, path, init) => {
		const id = `client-${randomUUID()}`;
		const headers = { ...(init.headers as Record<string, string>), "x-request-id": id };
		const response = await fetch(`${base}${path}`, { method, ...init, headers });
		await response.arrayBuffer();
		expect(response.headers.get("x-request-id")).toBe(id);
	});

	it.each([["has spaces"], ["x".repeat(129)], ["<script>"]])(
		"replaces a request id that is not a sane token (%s)",
		async bad => {
			const response = await fetch(`${base}/v2/models/nope/infer`, {
				method: "POST",
				headers: { ...auth, "x-request-id": bad },
				body: infer,
			});
			await response.arrayBuffer();
			expect(response.headers.get("x-request-id")).toMatch(UUID);
		},
	);
});

describe("JSON log lines", () => {
	let broker: ServiceBroker;
	let lines: string[];
	let spies: jest.SpyInstance[];

	beforeAll(async () => {
		lines = [];
		spies = (["log", "warn", "error"] as const).map(method =>
			jest.spyOn(console, method).mockImplementation((...args: unknown[]) => {
				lines.push(args.map(String).join(" "));
			}),
		);
		broker = new ServiceBroker({
			nodeID: "obs-node",
			logger: {
				type: "Console",
				options: { level: "info", formatter: jsonLogFormatter, colors: false },
			},
			middlewares: [logContextMiddleware()],
		});
		broker.createService({
			name: "chatty",
			actions: {
				async say(ctx: Context<unknown, { tenant: string; requestId: string }>) {
					await new Promise(resolve => setTimeout(resolve, 5));
					this.logger.info("serving", ctx.params);
					return ctx.call("chatty.again");
				},
				again() {
					this.logger.warn("nested call");
					return "ok";
				},
			},
		});
		await broker.start();
	});
	afterAll(async () => {
		await broker.stop();
		for (const spy of spies) spy.mockRestore();
	});

	it("carries the request id, trace id, tenant and node of the call on every line", async () => {
		lines.length = 0;
		await broker.call(
			"chatty.say",
			{ rows: 1 },
			{
				requestID: "0af7651916cd43dd8448eb211c80319c",
				meta: { tenant: "acme", requestId: "req-1" },
			},
		);
		const entries = lines.map(l => JSON.parse(l) as Record<string, unknown>);
		expect(entries.map(e => e.msg)).toEqual(["serving { rows: 1 }", "nested call"]);
		for (const entry of entries)
			expect(entry).toEqual(
				expect.objectContaining({
					node: "obs-node",
					requestId: "req-1",
					traceId: "0af7651916cd43dd8448eb211c80319c",
					tenant: "acme",
					module: "chatty",
				}),
			);
	});

	it("writes the same keys, null, outside any request", () => {
		lines.length = 0;
		broker.logger.info("between requests");
		expect(JSON.parse(lines[0])).toEqual(
			expect.objectContaining({
				msg: "between requests",
				node: "obs-node",
				requestId: null,
				traceId: null,
				tenant: null,
			}),
		);
	});
});
