/**
 * What the gateway does for observability on every request (issue 18): an `X-Request-ID` on
 * every answer — REST, OIP, health, the direct infer route, errors of the edge and of
 * moleculer-web alike — the client's own when it is a sane token; and, with LOG_FORMAT=json, log
 * lines that carry the request id, trace id, tenant and node of the call that wrote them.
 */
import { randomUUID } from "node:crypto";
import { ServiceBroker, type Context } from "moleculer";
import { jsonLogFormatter, logContextMiddleware } from "../../lib/observability/log-context";
import { RawRequest } from "../support/raw-http";
import { startTestNode, type TestNode } from "../support/test-node";
import { MLP_EXAMPLE, writeMlpModel } from "../unit/onnx/example-models";

const OWNER_KEY = `mf_obs-${randomUUID()}`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe("X-Request-ID on every answer", () => {
	let node: TestNode;
	let base: string;

	beforeAll(async () => {
		node = await startTestNode(OWNER_KEY);
		base = node.node.httpUrl ?? "";
		// A model the direct infer route answers 200 for (its answer's headers are its own).
		await node.request("/models", {
			method: "POST",
			body: { name: "mlp", task: "classification", framework: "onnx" },
		});
		const upload = await fetch(
			`${node.api}/models/mlp/versions/upload?version=1.0.0&fileName=mlp.onnx&state=Validated`,
			{
				method: "POST",
				headers: { ...auth, "content-type": "application/octet-stream" },
				body: writeMlpModel(),
			},
		);
		expect(upload.status).toBe(201);
	});
	afterAll(() => node.stop());

	const auth = { authorization: `Bearer ${OWNER_KEY}` };
	const infer = JSON.stringify({
		inputs: [{ name: "x", datatype: "FP32", shape: [1, 1], data: [1] }],
	});
	const mlpInfer = JSON.stringify({
		inputs: [{ name: "x", datatype: "FP32", shape: [2, 4], data: MLP_EXAMPLE.x }],
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
		["POST", "/v2/models/mlp/infer", { headers: auth, body: mlpInfer }, 200],
		[
			"POST",
			"/v2/models/mlp/infer",
			{ headers: { ...auth, "accept-encoding": "gzip" }, body: mlpInfer },
			200,
		],
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

	it("puts it on the body guard's refusal of an infer body over the limit, and on a 200 infer's answer once", async () => {
		const port = Number(new URL(base).port);
		const refused = new RawRequest(
			port,
			`POST /v2/models/mlp/infer HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${OWNER_KEY}\r\nContent-Type: application/json\r\nContent-Length: ${2 ** 40}\r\nX-Request-ID: refused-1\r\n\r\n`,
		);
		const answer = await refused.answer;
		refused.socket.destroy();
		expect(answer.status).toBe(413);
		expect(answer.headers["x-request-id"]).toBe("refused-1");

		const served = new RawRequest(
			port,
			`POST /v2/models/mlp/infer HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${OWNER_KEY}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(mlpInfer)}\r\nX-Request-ID: served-1\r\nConnection: close\r\n\r\n${mlpInfer}`,
		);
		await served.closed;
		const text = (served as unknown as { received: string }).received;
		expect(text.startsWith("HTTP/1.1 200")).toBe(true);
		const head = text.slice(0, text.indexOf("\r\n\r\n"));
		expect(head.match(/^x-request-id: served-1$/gim)).toHaveLength(1);
	});
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
