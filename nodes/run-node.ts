import { Errors } from "moleculer";
import type { NodeRole } from "../lib/fleet/node-role";
import { startNode, type StartedNode } from "./start-node";

/**
 * Runs a node as a process: starts it, and on SIGINT/SIGTERM stops it gracefully (in-flight
 * calls finish, up to the shutdown timeout) and exits 0. A second signal exits at once.
 */
export async function runNode(role: NodeRole): Promise<void> {
	let node: StartedNode;
	try {
		node = await startNode(role, process.env);
	} catch (err) {
		if (err instanceof Errors.MoleculerError && err.type === "INVALID_CONFIGURATION") {
			console.error(err.message);
		} else {
			console.error(`modelfleet ${role} node could not start:`, err);
		}
		process.exit(1);
	}

	let stopping = false;
	const stop = (signal: NodeJS.Signals): void => {
		if (stopping) {
			node.broker.logger.warn(`${signal} again: exiting without waiting.`);
			process.exit(1);
		}
		stopping = true;
		node.broker.logger.info(`${signal} received: finishing in-flight calls, then stopping.`);
		node.stop()
			.then(() => process.exit(0))
			.catch(err => {
				console.error("Stop failed:", err);
				process.exit(1);
			});
	};
	process.on("SIGINT", stop);
	process.on("SIGTERM", stop);
}
