/**
 * Where a worker thread's script is and how Node runs it: run from sources (.ts), a worker needs
 * the TypeScript loader the process itself was started with (scripts/ts-register.js); built
 * (.js), nothing.
 */
import * as path from "node:path";

const LOADER = path.join(__dirname, "..", "..", "scripts", "ts-register.js");

/**
 * `name` (without extension) in `dir`, as the caller's own file runs: pass the caller's
 * `__filename` as `caller`.
 */
export function workerFile(
	dir: string,
	name: string,
	caller: string,
): { filename: string; execArgv: string[] } {
	const ts = caller.endsWith(".ts");
	return {
		filename: path.join(dir, `${name}.${ts ? "ts" : "js"}`),
		execArgv: ts ? ["--require", LOADER] : [],
	};
}
