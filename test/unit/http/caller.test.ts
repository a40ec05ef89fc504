import type { IncomingMessage, ServerResponse } from "node:http";
import { Errors } from "moleculer";
import type { Identity } from "../../../lib/accounts/accounts-store";
import { CallerCheck } from "../../../lib/http/caller";
import { MemoryRateCounter } from "../../../lib/http/rate-limit";
import { UnauthenticatedError } from "../../../lib/errors";

const OWNER: Identity = { tenant: "t1", tenantName: "acme", role: "owner", keyId: "k42" };
const VIEWER: Identity = { tenant: "t1", tenantName: "acme", role: "viewer", keyId: "k7" };

function request(headers: Record<string, string> = {}): IncomingMessage {
	return { headers, socket: { remoteAddress: "10.0.0.7" } } as unknown as IncomingMessage;
}

/** A response that keeps the headers set on it. */
function response(): ServerResponse & { headers: Record<string, unknown> } {
	const headers: Record<string, unknown> = {};
	return {
		headers,
		setHeader: (name: string, value: unknown) => (headers[name.toLowerCase()] = value),
	} as unknown as ServerResponse & { headers: Record<string, unknown> };
}

function makeCheck(limit: number, now = () => 1_000) {
	const asked: string[] = [];
	const check = new CallerCheck({
		authenticate: key => {
			asked.push(key);
			if (key === "mf_owner") return Promise.resolve(OWNER);
			if (key === "mf_viewer") return Promise.resolve(VIEWER);
			return Promise.reject(new UnauthenticatedError());
		},
		keyCacheMs: 60_000,
		limits: { limit, windowMs: 60_000 },
		now,
	});
	const counter = new MemoryRateCounter(60_000, now);
	const hits: string[] = [];
	check.counter = {
		hit: key => {
			hits.push(key);
			return counter.hit(key);
		},
		ready: () => Promise.resolve(true),
		close: () => Promise.resolve(),
	};
	return { check, asked, hits };
}

const bearer = (key: string) => request({ authorization: `Bearer ${key}` });

describe("CallerCheck", () => {
	it("resolves a key to its identity once, through the cache", async () => {
		const { check, asked, hits } = makeCheck(0);
		expect(await check.check(bearer("mf_owner"), response(), "predict", "api.v2Infer")).toBe(
			OWNER,
		);
		expect(
			await check.check(request({ "x-api-key": "mf_owner" }), response(), "predict", "x"),
		).toBe(OWNER);
		expect(asked).toEqual(["mf_owner"]);
		expect(hits).toEqual([]); // limits off: nothing counted
	});

	it("accepts a verified key while accounts is unreachable, within the outage bound, and honours a revocation once accounts answers", async () => {
		const clock = { t: 0 };
		let accounts: "up" | "down" | "revoked" = "up";
		const check = new CallerCheck({
			authenticate: () =>
				accounts === "up"
					? Promise.resolve(OWNER)
					: Promise.reject(
							accounts === "down"
								? new Errors.ServiceNotAvailableError({
										action: "accounts.authenticate",
									})
								: new UnauthenticatedError(),
						),
			keyCacheMs: 10_000,
			controlOutageMs: 60_000,
			limits: { limit: 0, windowMs: 60_000 },
			now: () => clock.t,
		});
		const ask = () => check.check(bearer("mf_owner"), response(), "predict", "api.v2Infer");
		expect(await ask()).toBe(OWNER);
		accounts = "down";
		clock.t = 30_000;
		expect(await ask()).toBe(OWNER);
		// Past the bound the key needs accounts again.
		clock.t = 60_000;
		await expect(ask()).rejects.toMatchObject({ type: "SERVICE_NOT_AVAILABLE" });
		// Accounts back, the key revoked meanwhile: refused at its first use.
		accounts = "up";
		expect(await ask()).toBe(OWNER);
		accounts = "revoked";
		clock.t = 70_001;
		await expect(ask()).rejects.toThrow(UnauthenticatedError);
		accounts = "down";
		await expect(ask()).rejects.toMatchObject({ type: "SERVICE_NOT_AVAILABLE" });
	});

	it("answers 401 without a key or with a bad one, and 403 naming the action for a role without the permission", async () => {
		const { check } = makeCheck(0);
		await expect(check.check(request(), response(), "predict", "a")).rejects.toMatchObject({
			code: 401,
			type: "UNAUTHENTICATED",
		});
		await expect(
			check.check(bearer("mf_nope"), response(), "predict", "a"),
		).rejects.toMatchObject({ code: 401 });
		await expect(
			check.check(bearer("mf_viewer"), response(), "predict", "api.v2Infer"),
		).rejects.toMatchObject({
			code: 403,
			type: "FORBIDDEN",
			data: { role: "viewer", action: "call api.v2Infer" },
		});
		expect(await check.check(bearer("mf_viewer"), response(), undefined, "a")).toBe(VIEWER);
	});

	it("counts per key id (per address when the key does not resolve) before refusing, then answers 429", async () => {
		const { check, hits } = makeCheck(2);
		const res = response();
		await check.check(bearer("mf_owner"), res, "predict", "a");
		expect(res.headers).toEqual({
			"x-rate-limit-limit": 2,
			"x-rate-limit-remaining": 1,
			"x-rate-limit-reset": 60_000,
		});
		await expect(
			check.check(bearer("mf_viewer"), response(), "predict", "a"),
		).rejects.toMatchObject({ code: 403 });
		await expect(
			check.check(bearer("mf_nope"), response(), "predict", "a"),
		).rejects.toMatchObject({ code: 401 });
		await check.countAnonymous(request(), response());
		expect(hits).toEqual(["key:k42", "key:k7", "ip:10.0.0.7", "ip:10.0.0.7"]);

		await check.check(bearer("mf_owner"), response(), "predict", "a");
		const over = response();
		await expect(check.check(bearer("mf_owner"), over, "predict", "a")).rejects.toMatchObject({
			code: 429,
			type: "RATE_LIMITED",
			data: { limit: 2, windowMs: 60_000, retryAfterMs: 59_000 },
		});
		expect(over.headers).toEqual({});
		// Over the limit, 429 comes before 401 and 403.
		await expect(
			check.check(bearer("mf_nope"), response(), "predict", "a"),
		).rejects.toMatchObject({ code: 429 });
		await expect(check.countAnonymous(request(), response())).rejects.toMatchObject({
			code: 429,
		});
	});
});
