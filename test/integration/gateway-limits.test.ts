/**
 * The gateway's limits over real HTTP: rate limits per API key id (per address on public
 * routes) answering 429 with Retry-After, shared through Redis between gateways; request
 * timeouts answering 504; body size limits answering 413; and error bodies that carry no stack
 * traces or internal paths. The gateway runs against stand-in accounts, registry and
 * predictor services, so each case is exact and fast.
 */
import { randomUUID } from "node:crypto";
import { ServiceBroker, type Context } from "moleculer";
import { accessMiddleware } from "../../lib/accounts/access";
import type { Identity } from "../../lib/accounts/accounts-store";
import { UnauthenticatedError } from "../../lib/errors";
import type { InferResult } from "../../lib/predictor/served-model";
import { apiService, type ApiServiceOptions } from "../../services/api.service";
import { describeWithServices, serviceUrl } from "../support/external-services";
import { testTrust } from "../support/fleet-secret";
import { freePort } from "../support/node-process";

const IDENTITIES: Record<string, Identity> = {
	mf_a: { tenant: "t1", tenantName: "one", role: "owner", keyId: "key-a" },
	mf_b: { tenant: "t1", tenantName: "one", role: "owner", keyId: "key-b" },
};

interface InferParams {
	parameters?: { sleepMs?: number; fail?: "crash" | "odd" };
}

/** A gateway broker with stand-ins for the services it calls; its URL and a stop function. */
async function startGateway(
	options: Partial<ApiServiceOptions>,
	requestTimeout = 0,
): Promise<{ url: string; broker: ServiceBroker }> {
	const port = await freePort();
	const trust = testTrust();
	const broker = new ServiceBroker({
		nodeID: `gw-${randomUUID().slice(0, 8)}`,
		logger: false,
		requestTimeout,
		middlewares: [accessMiddleware(trust)],
	});
	broker.createService({
		name: "accounts",
		actions: {
			authenticate(ctx: Context<{ key: string }>): Identity {
				const identity = IDENTITIES[ctx.params.key];
				if (!identity) throw new UnauthenticatedError();
				return identity;
			},
		},
	});
	broker.createService({
		name: "registry",
		actions: { "models.list": () => ({ items: [], nextCursor: null }) },
	});
	broker.createService({
		name: "predictor",
		actions: {
			async infer(ctx: Context<InferParams>): Promise<InferResult> {
				const { sleepMs, fail } = ctx.params.parameters ?? {};
				if (sleepMs) await new Promise(resolve => setTimeout(resolve, sleepMs));
				if (fail === "crash")
					throw new TypeError(
						"Cannot read properties of undefined at /srv/app/lib/secret.ts:12",
					);
				if (fail === "odd")
					throw Object.assign(
						new Error("bad thing in /srv/app/data/blobs/ab\n    at x (y.js:1)"),
						{
							code: 400,
							type: "ODD_FAILURE",
							data: { path: "/srv/app/data" },
						},
					);
				return {
					modelName: "m",
					modelVersion: "1.0.0",
					outputs: [
						{ name: "y", datatype: "FP32", shape: [1, 1], data: Float32Array.of(1) },
					],
					executionProvider: "cpu",
					steps: [],
					rows: 1,
				};
			},
		},
	});
	broker.createService(
		apiService({
			trust,
			host: "127.0.0.1",
			port,
			neededServices: [],
			accountsCacheMs: 60_000,
			...options,
		}),
	);
	await broker.start();
	return { url: `http://127.0.0.1:${port}`, broker };
}

async function get(
	url: string,
	key?: string,
): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
	const response = await fetch(url, { headers: key ? { authorization: `Bearer ${key}` } : {} });
	return {
		status: response.status,
		headers: response.headers,
		body: (await response.json()) as Record<string, unknown>,
	};
}

async function infer(
	url: string,
	parameters: InferParams["parameters"] = {},
	key = "mf_a",
): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
	const response = await fetch(`${url}/v2/models/m/infer`, {
		method: "POST",
		headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
		body: JSON.stringify({ parameters, inputs: [] }),
	});
	return {
		status: response.status,
		headers: response.headers,
		body: (await response.json()) as Record<string, unknown>,
	};
}

describe("gateway rate limits, counted in memory", () => {
	let gateway: { url: string; broker: ServiceBroker };

	beforeAll(async () => {
		gateway = await startGateway({ rateLimit: { limit: 3, windowMs: 60_000 } });
	});
	afterAll(() => gateway.broker.stop());

	it("lets a key make `limit` requests across routes, then answers 429 with Retry-After", async () => {
		const { url } = gateway;
		expect((await get(`${url}/api/v1/models`, "mf_a")).status).toBe(200);
		const second = await infer(url);
		expect(second.status).toBe(200);
		expect(second.headers.get("x-rate-limit-remaining")).toBe("1");
		expect((await get(`${url}/v2/models/m/ready`, "mf_a")).status).not.toBe(429);

		const rest = await get(`${url}/api/v1/models`, "mf_a");
		expect(rest.status).toBe(429);
		expect(rest.body).toMatchObject({ type: "RATE_LIMITED", code: 429, data: { limit: 3 } });
		const retryAfter = Number(rest.headers.get("retry-after"));
		expect(retryAfter).toBeGreaterThanOrEqual(1);
		expect(retryAfter).toBeLessThanOrEqual(60);

		const oip = await infer(url);
		expect(oip.status).toBe(429);
		expect(Object.keys(oip.body)).toEqual(["error"]);
		expect(oip.headers.get("retry-after")).not.toBeNull();
	});

	it("counts each key on its own", async () => {
		expect((await infer(gateway.url, {}, "mf_b")).status).toBe(200);
	});

	it("counts requests without a key by client address on public routes", async () => {
		const fresh = await startGateway({ rateLimit: { limit: 2, windowMs: 60_000 } });
		try {
			expect((await get(`${fresh.url}/v2/health/live`)).status).toBe(200);
			expect((await get(`${fresh.url}/v2`)).status).toBe(200);
			const third = await get(`${fresh.url}/v2/health/ready`);
			expect(third.status).toBe(429);
			expect(third.body).toEqual({
				error: expect.stringContaining("Rate limit of 2 requests"),
			});
			// A key has a count of its own, apart from its address's.
			expect((await infer(fresh.url)).status).toBe(200);
		} finally {
			await fresh.broker.stop();
		}
	});

	it("is off when the limit is 0", async () => {
		const unlimited = await startGateway({});
		try {
			for (let i = 0; i < 5; i++) expect((await infer(unlimited.url)).status).toBe(200);
			expect((await infer(unlimited.url)).headers.get("x-rate-limit-limit")).toBeNull();
		} finally {
			await unlimited.broker.stop();
		}
	});
});

describeWithServices(["redis"], "gateway rate limits shared through Redis", () => {
	it("makes two gateways count one key's requests together", async () => {
		const rateLimit = {
			limit: 3,
			windowMs: 60_000,
			redisUrl: serviceUrl("redis"),
			keyPrefix: `mf-test-${randomUUID().slice(0, 8)}:ratelimit:`,
		};
		const one = await startGateway({ rateLimit });
		const two = await startGateway({ rateLimit });
		try {
			expect((await infer(one.url)).status).toBe(200);
			expect((await infer(two.url)).status).toBe(200);
			expect((await infer(one.url)).status).toBe(200);
			const refused = await infer(two.url);
			expect(refused.status).toBe(429);
			expect(refused.headers.get("retry-after")).not.toBeNull();
			expect((await infer(two.url, {}, "mf_b")).status).toBe(200);
		} finally {
			await Promise.all([one.broker.stop(), two.broker.stop()]);
		}
	});
});

describe("gateway request timeouts, body limits and error bodies", () => {
	let gateway: { url: string; broker: ServiceBroker };

	beforeAll(async () => {
		gateway = await startGateway({ maxBodyBytes: 4096 }, 300);
	});
	afterAll(() => gateway.broker.stop());

	it("answers a call that outlives the request timeout with 504 and no internals", async () => {
		const started = Date.now();
		const answer = await infer(gateway.url, { sleepMs: 5000 });
		expect(answer.status).toBe(504);
		// Answered at the 300 ms timeout, not when the call ends (5 s); the bound leaves a loaded
		// 2-core machine seconds of room.
		expect(Date.now() - started).toBeLessThan(3000);
		expect(answer.body).toEqual({
			error: expect.stringContaining("MODELFLEET_REQUEST_TIMEOUT_MS"),
		});
		expect(JSON.stringify(answer.body)).not.toMatch(/predictor|gw-/);
	});

	it("answers 413 for a body over the limit, on /v2 and on /api/v1", async () => {
		const big = await fetch(`${gateway.url}/v2/models/m/infer`, {
			method: "POST",
			headers: { authorization: "Bearer mf_a", "content-type": "application/json" },
			body: JSON.stringify({ inputs: [{ name: "x", data: new Array(3000).fill(1) }] }),
		});
		expect(big.status).toBe(413);
		expect(await big.json()).toEqual({
			error: expect.stringContaining("MODELFLEET_MAX_BODY_BYTES"),
		});
		const rest = await fetch(`${gateway.url}/api/v1/models`, {
			method: "POST",
			headers: { authorization: "Bearer mf_a", "content-type": "application/json" },
			body: JSON.stringify({ name: "x".repeat(2 * 1024 * 1024) }),
		});
		expect(rest.status).toBe(413);
		expect(await rest.json()).toMatchObject({ type: "REQUEST_TOO_LARGE", code: 413 });
	});

	it("answers a crash with 500 and a bare message, and scrubs paths from errors it did not write", async () => {
		const crash = await infer(gateway.url, { fail: "crash" });
		expect(crash.status).toBe(500);
		expect(crash.body).toEqual({
			error: "Internal server error; the node's log has the details.",
		});
		const odd = await infer(gateway.url, { fail: "odd" });
		expect(odd.status).toBe(400);
		expect(JSON.stringify(odd.body)).not.toMatch(/\/srv|y\.js|at x/);
	});

	it("answers malformed JSON on /api/v1 with 400 in our terms", async () => {
		const response = await fetch(`${gateway.url}/api/v1/models`, {
			method: "POST",
			headers: { authorization: "Bearer mf_a", "content-type": "application/json" },
			body: "{nope",
		});
		expect(response.status).toBe(400);
		expect(await response.json()).toMatchObject({
			type: "INVALID_INPUT",
			message: expect.stringContaining("not valid JSON"),
		});
	});
});
