/**
 * MODELFLEET_REQUIRE_SERVICES=1 turns "server not answering" from a skip into a failure, so CI
 * cannot pass by skipping. Runs jest itself, as CI does, against servers that are not there.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { REPO_ROOT } from "../support/node-process";

const UNREACHABLE = {
	NATS_URL: "nats://127.0.0.1:1",
	REDIS_URL: "redis://127.0.0.1:1",
	DATABASE_URL: "postgres://postgres@127.0.0.1:1/test",
};

function runJest(env: Record<string, string>): { status: number | null; output: string } {
	const result = spawnSync(
		process.execPath,
		[
			"--experimental-vm-modules",
			path.join(REPO_ROOT, "node_modules", "jest", "bin", "jest.js"),
			"--testMatch",
			"**/test/support/fixtures/needs-all-services.fixture.ts",
			"--ci",
		],
		{
			cwd: REPO_ROOT,
			env: {
				PATH: process.env.PATH ?? "",
				HOME: process.env.HOME ?? "/tmp",
				...UNREACHABLE,
				...env,
			},
			encoding: "utf8",
			timeout: 60_000,
		},
	);
	return { status: result.status, output: result.stdout + result.stderr };
}

describe("when NATS, Redis and PostgreSQL are not answering", () => {
	it("fails the run under MODELFLEET_REQUIRE_SERVICES=1, naming each server", () => {
		const { status, output } = runJest({ MODELFLEET_REQUIRE_SERVICES: "1" });
		expect(status).not.toBe(0);
		expect(output).toContain("MODELFLEET_REQUIRE_SERVICES=1");
		expect(output).toContain("NATS at nats://127.0.0.1:1");
		expect(output).toContain("Redis at redis://127.0.0.1:1");
		expect(output).toContain("PostgreSQL at postgres://postgres@127.0.0.1:1/test");
	});

	it("skips with a visible notice otherwise", () => {
		const { status, output } = runJest({});
		expect(status).toBe(0);
		expect(output).toContain("NOTICE");
		expect(output).toMatch(/skipping "a test that needs every server"/);
		expect(output).toMatch(/1 skipped/);
	});
});
