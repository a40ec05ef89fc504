/** Tests that need programs on the machine (nats-server, openssl, PostgreSQL's binaries). */
import { spawnSync } from "node:child_process";
import { describeUnlessMissing } from "./external-services";

/** Whether a program is on PATH. */
export function hasProgram(name: string): boolean {
	return spawnSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" }).status === 0;
}

/**
 * `describe` for tests that need programs (nats-server, openssl, PostgreSQL's): see
 * describeUnlessMissing for what happens when one is missing.
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
	describeUnlessMissing(name, `${missing.join(", ")} not found on PATH`, body);
}
