import type { IncomingMessage, ServerResponse } from "node:http";
import type { Identity } from "../../../lib/accounts/accounts-store";
import {
	callerMiddleware,
	rateLimitKey,
	type CallerRequest,
	type IdentityResolver,
} from "../../../lib/http/caller";
import { UnauthenticatedError } from "../../../lib/errors";

const IDENTITY: Identity = { tenant: "t1", tenantName: "acme", role: "owner", keyId: "k42" };

function request(headers: Record<string, string>): CallerRequest {
	return { headers, socket: { remoteAddress: "10.0.0.7" } } as unknown as CallerRequest;
}

async function run(resolve: IdentityResolver, req: CallerRequest): Promise<unknown> {
	return new Promise(done =>
		callerMiddleware(resolve)(req as IncomingMessage, {} as ServerResponse, done),
	);
}

describe("callerMiddleware and rateLimitKey", () => {
	const resolve: IdentityResolver = (_req, key) =>
		key === "mf_good" ? Promise.resolve(IDENTITY) : Promise.reject(new UnauthenticatedError());

	it("counts a resolved key by its id", async () => {
		const req = request({ authorization: "Bearer mf_good" });
		expect(await run(resolve, req)).toBeUndefined();
		expect(req.$caller).toEqual({ kind: "identified", identity: IDENTITY });
		expect(rateLimitKey(req)).toBe("key:k42");
	});

	it("keeps a refused key's error for authentication, counts it by address and never fails the request itself", async () => {
		const req = request({ "x-api-key": "mf_bad" });
		expect(await run(resolve, req)).toBeUndefined();
		expect(req.$caller).toMatchObject({ kind: "refused", error: { code: 401 } });
		expect(rateLimitKey(req)).toBe("ip:10.0.0.7");
	});

	it("counts a request without a key by address", async () => {
		const req = request({});
		await run(resolve, req);
		expect(req.$caller).toEqual({ kind: "anonymous" });
		expect(rateLimitKey(request({}))).toBe("ip:10.0.0.7");
	});
});
