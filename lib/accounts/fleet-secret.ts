import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

/** Where a node without MODELFLEET_FLEET_SECRET keeps the one it generated. */
export const FLEET_SECRET_FILE = "fleet-secret";

/**
 * The fleet secret a node signs and verifies identities with: MODELFLEET_FLEET_SECRET when set
 * (required in a fleet), else — one process — the one in `<dataDir>/fleet-secret`, generated
 * (256 random bits, readable by the owner only) on first start and reused after.
 */
export function fleetSecretOf(config: { fleetSecret: string | null; dataDir: string }): string {
	if (config.fleetSecret !== null) return config.fleetSecret;
	const file = path.join(config.dataDir, FLEET_SECRET_FILE);
	try {
		// "wx": two processes starting at once on one data directory keep the first one's.
		fs.writeFileSync(file, randomBytes(32).toString("base64url"), { flag: "wx", mode: 0o600 });
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
	}
	return fs.readFileSync(file, "utf8").trim();
}
