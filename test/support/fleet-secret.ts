/**
 * The fleet secret every test fleet shares (MODELFLEET_FLEET_SECRET), and identities signed with
 * it, for tests that call actions on a broker directly as the gateway would after a key.
 */
import type { RequestMeta } from "../../lib/accounts/access";
import { FleetTrust } from "../../lib/accounts/fleet-trust";
import type { Role } from "../../lib/accounts/roles";

export const TEST_FLEET_SECRET = "modelfleet-test-fleet-secret-0123456789abcdef";

/** The fleet trust of a test broker or node: TEST_FLEET_SECRET, with identities valid for an hour. */
export function testTrust(): FleetTrust {
	return new FleetTrust(TEST_FLEET_SECRET, { ttlMs: 60 * 60_000 });
}

/** The meta of a call for `tenant` as `role`, signed with TEST_FLEET_SECRET. */
export function signedMeta(tenant: string, role: Role, keyId: string | null = null): RequestMeta {
	const identity = { tenant, role, keyId };
	return { ...identity, identity: testTrust().sign(identity) };
}
