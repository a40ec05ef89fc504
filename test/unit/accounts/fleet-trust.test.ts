import { FleetTrust } from "../../../lib/accounts/fleet-trust";

const SECRET = "a-fleet-secret-of-at-least-32-characters";

describe("FleetTrust", () => {
	it("signs a tenant's identity that it verifies until its expiry", () => {
		let now = 1_000_000;
		const trust = new FleetTrust(SECRET, { ttlMs: 60_000, now: () => now });
		const { token, expiresAt } = trust.issue({ tenant: "t-1", role: "developer", keyId: "k" });
		expect(expiresAt).toBe(1_060_000);
		expect(trust.verify(token)).toEqual({
			ok: true,
			claims: { tenant: "t-1", role: "developer", keyId: "k", exp: 1_060_000 },
		});
		now += 120_000;
		expect(trust.verify(token)).toEqual({ ok: false, reason: "expired" });
	});

	it("acts for a tenant with a signed meta naming the service", () => {
		const trust = new FleetTrust(SECRET);
		const meta = trust.actAs("t-1", "owner", "control-1");
		expect(meta).toMatchObject({ tenant: "t-1", role: "owner", keyId: null });
		expect(trust.verify(meta.identity)).toMatchObject({
			ok: true,
			claims: { tenant: "t-1", role: "owner", service: "control-1" },
		});
	});

	it("keeps its service token until half its life is gone", () => {
		let now = 0;
		const trust = new FleetTrust(SECRET, { ttlMs: 10_000, now: () => now });
		const first = trust.serviceToken("w1");
		now = 4_000;
		expect(trust.serviceToken("w1")).toBe(first);
		now = 5_000;
		const renewed = trust.serviceToken("w1");
		expect(renewed).not.toBe(first);
		expect(trust.verify(renewed)).toEqual({
			ok: true,
			claims: { service: "w1", exp: 15_000 },
		});
	});

	it("signs the same identity with the same token until half its life is gone", () => {
		let now = 0;
		const trust = new FleetTrust(SECRET, { ttlMs: 10_000, now: () => now });
		const identity = { tenant: "t-1", role: "developer" as const, keyId: "k" };
		const first = trust.sign(identity);
		now = 4_000;
		expect(trust.sign({ ...identity })).toBe(first);
		expect(trust.sign({ ...identity, keyId: "other" })).not.toBe(first);
		expect(trust.sign(identity, "gateway-1")).not.toBe(first);
		now = 5_000;
		const renewed = trust.sign(identity);
		expect(renewed).not.toBe(first);
		expect(trust.verify(renewed)).toMatchObject({ ok: true, claims: { exp: 15_000 } });
	});

	it("remembers verified tokens only until they expire, and never a tampered one", () => {
		let now = 0;
		const trust = new FleetTrust(SECRET, { ttlMs: 10_000, now: () => now });
		const token = trust.sign({ tenant: "t-1", role: "viewer", keyId: null });
		expect(trust.verify(token)).toMatchObject({ ok: true });
		expect(trust.verify(token)).toMatchObject({ ok: true });
		const [payload, signature] = token.split(".");
		const forged = `${Buffer.from(
			Buffer.from(payload, "base64url").toString().replace("viewer", "owner!"),
		).toString("base64url")}.${signature}`;
		expect(trust.verify(forged)).toEqual({ ok: false, reason: "bad-signature" });
		expect(trust.verify(`${token}x`)).toMatchObject({ ok: false });
		// Past its expiry (and the clock skew allowed), the remembered token is refused too.
		now = 10_000 + 30_000;
		expect(trust.verify(token)).toEqual({ ok: false, reason: "expired" });
	});

	it("refuses a secret shorter than 32 characters", () => {
		expect(() => new FleetTrust("short")).toThrow(/at least 32 characters/);
	});
});
