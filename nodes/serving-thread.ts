/**
 * One serving thread of an all-in-one node (nodes/serving-threads.ts starts it): a `serving`
 * node — gateway and predictor — on the node's own port, joined to the main thread's broker
 * through the port it was given. It tells the main thread when it is ready or why it could not
 * start, and stops gracefully when asked.
 */
import { parentPort, workerData, type MessagePort } from "node:worker_threads";
import type { Environment } from "../lib/config/node-config";
import { GATEWAY_DEPENDENCIES } from "../lib/fleet/node-role";
import { ThreadPortTransporter } from "../lib/fleet/thread-port-transporter";
import { startNode } from "./start-node";

/** What the main thread hands a serving thread. */
export interface ServingThreadData {
	env: Environment;
	port: MessagePort;
}

/** What a serving thread tells the main thread. */
export type ServingThreadReport =
	{ type: "ready"; nodeID: string } | { type: "failed"; message: string } | { type: "stopped" };

/** What the main thread tells a serving thread. */
export type ServingThreadCommand = { type: "stop" };

async function main(parent: MessagePort, data: ServingThreadData): Promise<void> {
	const report = (message: ServingThreadReport) => parent.postMessage(message);
	let node;
	try {
		node = await startNode("serving", data.env, () => undefined, {
			transporter: new ThreadPortTransporter({ ports: [data.port], hub: false }),
			reusePort: true,
			// The kernel sends it connections once it listens: by then it knows whom to ask.
			listenAfter: GATEWAY_DEPENDENCIES,
		});
	} catch (err) {
		report({ type: "failed", message: (err as Error).message ?? String(err) });
		process.exit(1);
	}
	const started = node;
	parent.on("message", (command: ServingThreadCommand) => {
		if (command.type !== "stop") return;
		started
			.stop()
			.catch(() => undefined)
			.finally(() => {
				report({ type: "stopped" });
				// In a worker thread this ends the thread, not the process.
				process.exit(0);
			});
	});
	report({ type: "ready", nodeID: started.broker.nodeID });
}

if (parentPort) void main(parentPort, workerData as ServingThreadData);
