import type { IncomingMessage, ServerResponse } from "node:http";
import { ServiceBroker, type Context, type Service } from "moleculer";
import { accessMiddleware } from "../../../../lib/accounts/access";
import type { Identity } from "../../../../lib/accounts/accounts-store";
import { UnauthenticatedError } from "../../../../lib/errors";
import type { CallerMethods } from "../../../../mixins/gateway/caller.mixin";
import { callerMixin, countAnonymous } from "../../../../mixins/gateway/caller.mixin";
import type { HttpMeta } from "../../../../mixins/gateway/http-context";
import { testTrust } from "../../../support/fleet-secret";

const VIEWER: Identity = { tenant: "t1", tenantName: "one", role: "viewer", keyId: "k-viewer" };

type Gateway = Service &
	CallerMethods & {
		authenticate(
			ctx: { meta: HttpMeta },
			route: unknown,
			req: IncomingMessage,
			res: ServerResponse,
		): Promise<Identity>;
	};

function request(headers: Record<string, string>, action?: object): IncomingMessage {
	return {
		headers,
		socket: { remoteAddress: "10.1.2.3" },
		...(action ? { $action: action } : {}),
	} as unknown as IncomingMessage;
}

function response(): ServerResponse & { headers: Record<string, unknown> } {
	const headers: Record<string, unknown> = {};
	return {
		headers,
		setHeader: (name: string, value: unknown) => (headers[name.toLowerCase()] = value),
	} as unknown as ServerResponse & { headers: Record<string, unknown> };
}

const PREDICTOR: Identity = { tenant: "t2", tenantName: "two", role: "predictor", keyId: "k-pred" };

async function start(
	limit: number,
	accountsCacheMs = 60_000,
): Promise<{
	broker: ServiceBroker;
	gateway: Gateway;
	asked: () => number;
	quotasRead: () => number;
}> {
	const trust = testTrust();
	const broker = new ServiceBroker({ logger: false, middlewares: [accessMiddleware(trust)] });
	let asked = 0;
	let quotasRead = 0;
	broker.createService({
		name: "accounts",
		actions: {
			authenticate(ctx: Context<{ key: string }>): Identity {
				asked++;
				if (ctx.params.key === "mf_predictor") return PREDICTOR;
				if (ctx.params.key !== "mf_viewer") throw new UnauthenticatedError();
				return VIEWER;
			},
			"quotas.ofTenant"(): object {
				quotasRead++;
				return {};
			},
		},
	});
	const gateway = broker.createService({
		name: "gw",
		mixins: [callerMixin({ trust, accountsCacheMs, rateLimit: { limit, windowMs: 60_000 } })],
	}) as Gateway;
	await broker.start();
	return { broker, gateway, asked: () => asked, quotasRead: () => quotasRead };
}

describe("callerMixin", () => {
	it("authenticates through accounts once per key, then puts the caller and routing key in ctx.meta", async () => {
		const { broker, gateway, asked } = await start(0);
		try {
			const ctx = { meta: {} as HttpMeta };
			const req = request(
				{ authorization: "Bearer mf_viewer", "x-modelfleet-routing-key": "user-9" },
				{ name: "gw.read", permission: "models.read" },
			);
			expect(await gateway.authenticate(ctx, {}, req, response())).toEqual(VIEWER);
			expect(ctx.meta).toEqual({
				tenant: "t1",
				role: "viewer",
				keyId: "k-viewer",
				routingKey: "user-9",
				identity: expect.any(String),
			});
			// The identity is signed for the services: it verifies with the fleet secret.
			expect(testTrust().verify(ctx.meta.identity)).toMatchObject({
				ok: true,
				claims: { tenant: "t1", role: "viewer", keyId: "k-viewer" },
			});
			await gateway.checkCaller(
				request({ "x-api-key": "mf_viewer" }),
				response(),
				undefined,
				"x",
			);
			expect(asked()).toBe(1);
		} finally {
			await broker.stop();
		}
	});

	it("refuses with 401 and 403 through the hook, naming the action", async () => {
		const { broker, gateway } = await start(0);
		try {
			const predict = { name: "gw.predict", permission: "predict" };
			await expect(
				gateway.authenticate({ meta: {} }, {}, request({}, predict), response()),
			).rejects.toMatchObject({ code: 401 });
			await expect(
				gateway.authenticate(
					{ meta: {} },
					{},
					request({ authorization: "Bearer mf_viewer" }, predict),
					response(),
				),
			).rejects.toMatchObject({ code: 403, data: { action: "call gw.predict" } });
		} finally {
			await broker.stop();
		}
	});

	it("counts keyed and anonymous requests in one limiter and answers 429 over it", async () => {
		const { broker, gateway } = await start(1);
		try {
			const res = response();
			await gateway.checkCaller(
				request({ authorization: "Bearer mf_viewer" }),
				res,
				undefined,
				"x",
			);
			expect(res.headers["x-rate-limit-remaining"]).toBe(0);
			await expect(
				gateway.checkCaller(
					request({ authorization: "Bearer mf_viewer" }),
					response(),
					undefined,
					"x",
				),
			).rejects.toMatchObject({ code: 429, type: "RATE_LIMITED" });

			// The route middleware of public routes: counted per address, errors passed to `next`.
			const next = (): Promise<unknown> =>
				new Promise(resolve =>
					countAnonymous.call(gateway, request({}), response(), err => resolve(err)),
				);
			expect(await next()).toBeUndefined();
			expect(await next()).toMatchObject({ code: 429 });
		} finally {
			await broker.stop();
		}
	});

	it("trusts what accounts said of a key and of a tenant's quotas for accountsCacheMs (MODELFLEET_ACCOUNTS_CACHE_MS), then asks again", async () => {
		const { broker, gateway, asked, quotasRead } = await start(0, 150);
		try {
			const predict = (): Promise<unknown> =>
				gateway.checkCaller(
					request({ authorization: "Bearer mf_predictor" }),
					response(),
					"predict",
					"gw.infer",
				);
			await predict();
			await predict();
			expect([asked(), quotasRead()]).toEqual([1, 1]);
			await new Promise(resolve => setTimeout(resolve, 250));
			await predict();
			// The key is asked for again at once; the quotas are read again behind the request.
			await new Promise(resolve => setTimeout(resolve, 20));
			expect([asked(), quotasRead()]).toEqual([2, 2]);
		} finally {
			await broker.stop();
		}
	});
});
