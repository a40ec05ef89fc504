import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FLEET_SECRET_FILE, fleetSecretOf } from "../../../lib/accounts/fleet-secret";

describe("fleetSecretOf", () => {
	const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mf-fleet-secret-"));
	afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

	it("takes MODELFLEET_FLEET_SECRET when set, and writes nothing", () => {
		const secret = "s".repeat(40);
		expect(fleetSecretOf({ fleetSecret: secret, dataDir })).toBe(secret);
		expect(fs.existsSync(path.join(dataDir, FLEET_SECRET_FILE))).toBe(false);
	});

	it("generates one into the data directory on first start, readable by the owner only, and reuses it", () => {
		const first = fleetSecretOf({ fleetSecret: null, dataDir });
		expect(first.length).toBeGreaterThanOrEqual(32);
		const file = path.join(dataDir, FLEET_SECRET_FILE);
		expect(fs.statSync(file).mode & 0o777).toBe(0o600);
		expect(fleetSecretOf({ fleetSecret: null, dataDir })).toBe(first);
	});
});
