/** Child processes for the artifacts cluster tests: a TypeScript script under test/support, run from sources. */
import { spawn, type ChildProcess } from "node:child_process";
import * as path from "node:path";
import { REPO_ROOT } from "./node-process";

export class ArtifactProcess {
	private output = "";
	readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

	private constructor(
		readonly name: string,
		readonly child: ChildProcess,
	) {
		child.stdout?.on("data", (chunk: Buffer) => (this.output += chunk.toString()));
		child.stderr?.on("data", (chunk: Buffer) => (this.output += chunk.toString()));
		this.exited = new Promise(resolve =>
			child.once("exit", (code, signal) => resolve({ code, signal })),
		);
	}

	/** Runs `test/support/<script>` with `args` and exactly `env` on top of PATH and HOME. */
	static start(
		name: string,
		script: string,
		args: string[],
		env: Record<string, string>,
	): ArtifactProcess {
		const child = spawn(
			process.execPath,
			[
				"--require",
				path.join(REPO_ROOT, "scripts", "ts-register.js"),
				path.join(__dirname, script),
				...args,
			],
			{
				cwd: REPO_ROOT,
				env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
				stdio: ["ignore", "pipe", "pipe"],
			},
		);
		return new ArtifactProcess(name, child);
	}

	/** Everything it printed so far: put into failure messages. */
	get log(): string {
		return this.output;
	}

	/** The rest of the first printed line that starts with `prefix`, once printed. */
	async line(prefix: string, timeoutMs: number): Promise<string> {
		const deadline = Date.now() + timeoutMs;
		let exited = false;
		void this.exited.then(() => (exited = true));
		for (;;) {
			const found = this.output.split("\n").find(l => l.startsWith(prefix));
			if (found !== undefined) return found.slice(prefix.length).trim();
			if (exited || Date.now() > deadline) {
				throw new Error(
					`${this.name} ${exited ? "exited" : "timed out"} before printing "${prefix}":\n${this.output}`,
				);
			}
			await new Promise(resolve => setTimeout(resolve, 20));
		}
	}

	/** The JSON after `prefix` on the line it prints. */
	async json<T>(prefix: string, timeoutMs: number): Promise<T> {
		return JSON.parse(await this.line(prefix, timeoutMs)) as T;
	}

	kill(signal: NodeJS.Signals): void {
		if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
	}
}
