/**
 * A nats-server of a test's own, with the configuration the test gives (authorization, TLS),
 * on a free port; the shared server on 4222 stays as it is. Needs the `nats-server` binary.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { freePort } from "./node-process";
import { waitFor } from "./wait";

export interface NatsServerProcess {
	port: number;
	/** What the server logged: authentication and TLS errors show here. */
	log(): string;
	stop(): Promise<void>;
}

function accepts(port: number): Promise<boolean> {
	return new Promise(resolve => {
		const socket = net.connect({ host: "127.0.0.1", port });
		socket.once("connect", () => {
			socket.destroy();
			resolve(true);
		});
		socket.once("error", () => resolve(false));
	});
}

/**
 * Starts nats-server on 127.0.0.1 and a free port with `config` (nats-server's configuration
 * syntax, without `listen`) written into `dir`; resolves once it accepts connections.
 */
export async function startNatsServer(dir: string, config: string): Promise<NatsServerProcess> {
	const port = await freePort();
	const file = path.join(dir, `nats-${port}.conf`);
	fs.writeFileSync(file, `listen: 127.0.0.1:${port}\n${config}\n`);
	const child: ChildProcess = spawn("nats-server", ["-c", file], {
		stdio: ["ignore", "pipe", "pipe"],
	});
	let output = "";
	child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
	child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
	const exited = new Promise<void>(resolve => child.once("exit", () => resolve()));
	await waitFor(
		`nats-server on port ${port}`,
		async () => {
			if (child.exitCode !== null) throw new Error(`nats-server exited:\n${output}`);
			return (await accepts(port)) ? true : undefined;
		},
		10_000,
		50,
	);
	return {
		port,
		log: () => output,
		async stop() {
			if (child.exitCode === null) child.kill("SIGKILL");
			await exited;
		},
	};
}
