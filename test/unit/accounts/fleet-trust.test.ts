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

	it("refuses a secret shorter than 32 characters", () => {
		expect(() => new FleetTrust("short")).toThrow(/at least 32 characters/);
	});
});
