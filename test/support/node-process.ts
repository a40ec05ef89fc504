/** Real modelfleet node processes for cluster tests, started from sources as `npm run node` does. */
import { spawn, type ChildProcess } from "node:child_process";
import * as net from "node:net";
import * as path from "node:path";

export const REPO_ROOT = path.join(__dirname, "..", "..");

/** A port nothing listens on right now. */
export function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = net.createServer();
		server.once("error", reject);
		server.listen(0, "127.0.0.1", () => {
			const { port } = server.address() as net.AddressInfo;
			server.close(() => resolve(port));
		});
	});
}

export class NodeProcess {
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

	/** Starts `modelfleet <role>` with exactly `env` on top of PATH and HOME. */
	static start(name: string, role: string, env: Record<string, string>): NodeProcess {
		const child = spawn(
			process.execPath,
			[
				"--require",
				path.join(REPO_ROOT, "scripts", "ts-register.js"),
				path.join(REPO_ROOT, "nodes", "cli.ts"),
				role,
			],
			{
				cwd: REPO_ROOT,
				env: {
					PATH: process.env.PATH ?? "",
					HOME: process.env.HOME ?? "/tmp",
					// Parallel tests would all bind 8001: gRPC only where a test asks for it.
					MODELFLEET_GRPC_PORT: "off",
					...env,
				},
				stdio: ["ignore", "pipe", "pipe"],
			},
		);
		return new NodeProcess(name, child);
	}

	get pid(): number {
		return this.child.pid ?? -1;
	}

	/** Everything it printed so far: put into failure messages. */
	get log(): string {
		return this.output;
	}

	kill(signal: NodeJS.Signals): void {
		if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
	}
}
