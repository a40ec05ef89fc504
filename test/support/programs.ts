/** Tests that need programs on the machine (nats-server, openssl, PostgreSQL's binaries). */
import { spawnSync } from "node:child_process";
import { servicesRequired } from "./external-services";

/** Whether a program is on PATH. */
export function hasProgram(name: string): boolean {
	return spawnSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" }).status === 0;
}

/**
 * `describe` for tests that need programs (nats-server, openssl, PostgreSQL's): skipped with a
 * notice when one is missing, failed under MODELFLEET_REQUIRE_SERVICES=1.
 */
export function describeWithPrograms(
	programs: readonly string[],
	name: string,
	body: () => void,
): void {
	const missing = programs.filter(program => !hasProgram(program));
	if (missing.length === 0) {
		describe(name, body);
		return;
	}
	const message = `${missing.join(", ")} not found on PATH`;
	if (servicesRequired()) {
		describe(name, () => {
			it("has the programs it needs", () => {
				throw new Error(`MODELFLEET_REQUIRE_SERVICES=1 and ${message}`);
			});
		});
		return;
	}
	console.warn(`[modelfleet tests] NOTICE: skipping "${name}": ${message}.`);
	describe.skip(name, body);
}
