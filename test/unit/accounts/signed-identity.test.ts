import { signIdentity, verifyIdentity } from "../../../lib/accounts/signed-identity";

const SECRET = "a-fleet-secret-of-at-least-32-characters";
const NOW = 1_700_000_000_000;
const USER = { tenant: "t-1", role: "owner", keyId: "k-1", exp: NOW + 60_000 } as const;

/** The token with its claims part replaced by `claims` (the signature kept). */
function withClaims(token: string, claims: unknown): string {
	const [, signature] = token.split(".");
	return `${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${signature}`;
}

describe("signIdentity and verifyIdentity", () => {
	it("round-trips a tenant's identity and a service's", () => {
		expect(verifyIdentity(signIdentity(USER, SECRET), SECRET, NOW)).toEqual({
			ok: true,
			claims: USER,
		});
		const service = { service: "worker-1", exp: NOW + 1000 };
		expect(verifyIdentity(signIdentity(service, SECRET), SECRET, NOW)).toEqual({
			ok: true,
			claims: service,
		});
	});

	it("refuses a token whose claims were changed after signing", () => {
		const token = signIdentity(USER, SECRET);
		for (const change of [
			{ tenant: "t-2" },
			{ role: "viewer" },
			{ keyId: "k-9" },
			{ exp: NOW + 3_600_000 },
		]) {
			expect(verifyIdentity(withClaims(token, { ...USER, ...change }), SECRET, NOW)).toEqual({
				ok: false,
				reason: "bad-signature",
			});
		}
		const [claims, signature] = token.split(".");
		const flipped = signature.startsWith("A")
			? `B${signature.slice(1)}`
			: `A${signature.slice(1)}`;
		expect(verifyIdentity(`${claims}.${flipped}`, SECRET, NOW)).toMatchObject({
			reason: "bad-signature",
		});
	});

	it("refuses a token signed with another secret", () => {
		const token = signIdentity(USER, "another-secret-of-at-least-32-characters");
		expect(verifyIdentity(token, SECRET, NOW)).toEqual({ ok: false, reason: "bad-signature" });
	});

	it("refuses an expired token, past a small allowance for clock skew", () => {
		const token = signIdentity(USER, SECRET);
		expect(verifyIdentity(token, SECRET, USER.exp + 10_000).ok).toBe(true);
		expect(verifyIdentity(token, SECRET, USER.exp + 30_000)).toEqual({
			ok: false,
			reason: "expired",
		});
	});

	it("refuses a missing or malformed token without throwing", () => {
		for (const missing of [undefined, null, ""]) {
			expect(verifyIdentity(missing, SECRET, NOW)).toEqual({ ok: false, reason: "missing" });
		}
		for (const malformed of [
			42,
			{ tenant: "t-1" },
			"no-dot",
			"a.b.c",
			"bad chars!.sig",
			"x".repeat(5000),
		]) {
			expect(verifyIdentity(malformed, SECRET, NOW)).toEqual({
				ok: false,
				reason: "malformed",
			});
		}
	});

	it("refuses signed claims of the wrong shape", () => {
		for (const claims of [
			{ tenant: "t-1", role: "owner" }, // no expiry
			{ tenant: "t-1", exp: NOW + 1000 }, // a tenant without its role
			{ tenant: "t-1", role: "root", exp: NOW + 1000 },
			{ exp: NOW + 1000 }, // neither a tenant nor a service
			["t-1"],
		]) {
			const token = signIdentity(claims as never, SECRET);
			expect(verifyIdentity(token, SECRET, NOW)).toEqual({ ok: false, reason: "malformed" });
		}
		const notJson = `${Buffer.from("{tenant").toString("base64url")}`;
		const token = signIdentity(USER, SECRET);
		expect(verifyIdentity(`${notJson}.${token.split(".")[1]}`, SECRET, NOW).ok).toBe(false);
	});
});
