/**
 * One caller check for every keyed route (lib/http/caller.ts): with rate limits off and on, the
 * direct infer route (answered by the HTTP server itself) and moleculer-web's routes give the
 * same answers — 401 without a key or with a bad one, 403 for a role that may not predict, 429
 * with Retry-After over the limit, counted together per key id (per address without a key).
 */
import { randomUUID } from "node:crypto";
import { ServiceBroker, type Context } from "moleculer";
import { accessMiddleware } from "../../lib/accounts/access";
import type { Identity } from "../../lib/accounts/accounts-store";
import { UnauthenticatedError } from "../../lib/errors";
import type { InferResult } from "../../lib/predictor/served-model";
import { apiService, type ApiServiceOptions } from "../../services/api.service";
import { testTrust } from "../support/fleet-secret";
import { freePort } from "../support/node-process";

const IDENTITIES: Record<string, Identity> = {
	mf_owner: { tenant: "t1", tenantName: "one", role: "owner", keyId: "key-owner" },
	mf_owner2: { tenant: "t1", tenantName: "one", role: "owner", keyId: "key-owner2" },
	mf_viewer: { tenant: "t1", tenantName: "one", role: "viewer", keyId: "key-viewer" },
};

const VERSION = {
	model: "m",
	version: "1.0.0",
	ref: "m@1.0.0",
	format: "onnx",
	artifact: "ab".repeat(32),
	schema: {
		inputs: [{ name: "x", datatype: "FP32", shape: [-1, 1] }],
		outputs: [{ name: "y", datatype: "FP32", shape: [-1, 1] }],
	},
};

interface Gateway {
	url: string;
	broker: ServiceBroker;
	/** Calls of moleculer-web's infer action (the direct route makes none). */
	inferActionCalls: () => number;
}

async function startGateway(options: Partial<ApiServiceOptions>): Promise<Gateway> {
	const port = await freePort();
	const trust = testTrust();
	const broker = new ServiceBroker({
		nodeID: `gw-${randomUUID().slice(0, 8)}`,
		logger: false,
		middlewares: [accessMiddleware(trust)],
	});
	let inferActionCalls = 0;
	broker.middlewares.add({
		name: "CountInferAction",
		localAction(next: (ctx: Context) => Promise<unknown>, action: { name?: string }) {
			if (action.name !== "api.v2Infer") return next;
			return (ctx: Context) => {
				inferActionCalls++;
				return next(ctx);
			};
		},
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
		actions: {
			"versions.get": () => VERSION,
			"versions.list": () => ({ items: [VERSION], nextCursor: null }),
		},
	});
	broker.createService({
		name: "predictor",
		actions: {
			infer: (): InferResult => ({
				modelName: "m",
				modelVersion: "1.0.0",
				outputs: [{ name: "y", datatype: "FP32", shape: [1, 1], data: Float32Array.of(1) }],
				executionProvider: "cpu",
				steps: [],
				rows: 1,
			}),
		},
	});
	broker.createService(
		apiService({ trust, host: "127.0.0.1", port, neededServices: [], ...options }),
	);
	await broker.start();
	return { url: `http://127.0.0.1:${port}`, broker, inferActionCalls: () => inferActionCalls };
}

interface Answer {
	status: number;
	retryAfter: string | null;
	remaining: string | null;
	/** The error's message: `error` of an OIP answer, `message` of a REST one. */
	message: string | null;
	type: string | null;
}

const BODY = JSON.stringify({
	inputs: [{ name: "x", datatype: "FP32", shape: [1, 1], data: [1] }],
});

/** The three paths: the direct infer route, and two of moleculer-web's routes. */
const PATHS = {
	direct: { method: "POST", path: "/v2/models/m/infer" },
	rest: { method: "POST", path: "/api/v1/models/m/predict" },
	metadata: { method: "GET", path: "/v2/models/m" },
} as const;

async function ask(url: string, which: keyof typeof PATHS, key?: string): Promise<Answer> {
	const { method, path } = PATHS[which];
	const response = await fetch(`${url}${path}`, {
		method,
		headers: {
			...(key !== undefined ? { authorization: `Bearer ${key}` } : {}),
			...(method === "POST" ? { "content-type": "application/json" } : {}),
		},
		...(method === "POST" ? { body: BODY } : {}),
	});
	const body = (await response.json()) as Record<string, unknown>;
	const message = (body.error ?? (response.ok ? null : body.message) ?? null) as string | null;
	return {
		status: response.status,
		retryAfter: response.headers.get("retry-after"),
		remaining: response.headers.get("x-rate-limit-remaining"),
		message,
		type: typeof body.type === "string" ? body.type : null,
	};
}

describe.each([
	["off", {}],
	["on", { rateLimit: { limit: 1000, windowMs: 60_000 } }],
])("the caller check with rate limits %s", (mode, options) => {
	let gateway: Gateway;

	beforeAll(async () => {
		gateway = await startGateway(options);
	});
	afterAll(() => gateway.broker.stop());

	it("answers 401 and 403 alike on the direct infer route and on moleculer-web's routes", async () => {
		const { url } = gateway;
		const cases: Array<[string | undefined, number, string]> = [
			[undefined, 401, "UNAUTHENTICATED"],
			["mf_wrong", 401, "UNAUTHENTICATED"],
			["mf_viewer", 403, "FORBIDDEN"],
		];
		for (const [key, status, type] of cases) {
			const direct = await ask(url, "direct", key);
			const rest = await ask(url, "rest", key);
			expect({ key, status: direct.status }).toEqual({ key, status });
			expect({ key, status: rest.status, type: rest.type }).toEqual({ key, status, type });
			// The same error: the OIP body's `error` is the REST body's `message`.
			expect(direct.message?.replace("api.v2Infer", "api.predict")).toBe(rest.message);
			if (status === 401) {
				const metadata = await ask(url, "metadata", key);
				expect(metadata.status).toBe(401);
				expect(metadata.message).toBe(direct.message);
			}
			// Both count the request (rate limits on) or neither does.
			expect(direct.remaining === null).toBe(rest.remaining === null);
			expect(direct.remaining === null).toBe(mode === "off");
		}
		expect((await ask(url, "direct", "mf_owner")).status).toBe(200);
		expect((await ask(url, "rest", "mf_owner")).status).toBe(200);
		expect((await ask(url, "metadata", "mf_viewer")).status).toBe(200);
		// Every infer request above was answered by the direct route.
		expect(gateway.inferActionCalls()).toBe(0);
		if (mode === "on") expect((await ask(url, "direct", "mf_owner")).remaining).not.toBeNull();
		else expect((await ask(url, "direct", "mf_owner")).remaining).toBeNull();
	});
});

describe("the caller check over the rate limit", () => {
	let gateway: Gateway;

	beforeAll(async () => {
		gateway = await startGateway({ rateLimit: { limit: 3, windowMs: 60_000 } });
	});
	afterAll(() => gateway.broker.stop());

	it("counts a key's requests on every path together and answers 429 with Retry-After on each", async () => {
		const { url } = gateway;
		expect((await ask(url, "direct", "mf_owner")).remaining).toBe("2");
		expect((await ask(url, "rest", "mf_owner")).remaining).toBe("1");
		expect((await ask(url, "metadata", "mf_owner")).remaining).toBe("0");
		const answers = [
			await ask(url, "direct", "mf_owner"),
			await ask(url, "rest", "mf_owner"),
			await ask(url, "metadata", "mf_owner"),
		];
		for (const answer of answers) {
			expect(answer.status).toBe(429);
			expect(Number(answer.retryAfter)).toBeGreaterThanOrEqual(1);
			expect(answer.message).toContain("Rate limit of 3 requests");
		}
		expect(answers[1].type).toBe("RATE_LIMITED");
		// Another key has a count of its own.
		expect((await ask(url, "direct", "mf_owner2")).status).toBe(200);
		expect(gateway.inferActionCalls()).toBe(0);
	});

	it("counts refused callers per address and answers 429 before 401 or 403", async () => {
		const { url } = gateway;
		// No key and a bad key count for this address: 401 until the address is over the limit.
		expect((await ask(url, "direct")).status).toBe(401);
		expect((await ask(url, "rest", "mf_wrong")).status).toBe(401);
		expect((await ask(url, "metadata")).status).toBe(401);
		for (const which of ["direct", "rest", "metadata"] as const) {
			const answer = await ask(url, which, "mf_wrong");
			expect({ which, status: answer.status }).toEqual({ which, status: 429 });
			expect(answer.retryAfter).not.toBeNull();
		}
		// A viewer over its limit hears 429 on the infer routes, not 403.
		for (let i = 0; i < 3; i++) await ask(url, "metadata", "mf_viewer");
		for (const which of ["direct", "rest"] as const) {
			const answer = await ask(url, which, "mf_viewer");
			expect({ which, status: answer.status }).toEqual({ which, status: 429 });
		}
	});
});
