import { Errors } from "moleculer";
import type { NodeRole } from "../lib/fleet/node-role";
import { startNode, type StartedNode } from "./start-node";

const STARTUP_ERRORS = new Set(["INVALID_CONFIGURATION", "NATS_REFUSED"]);

/**
 * Runs a node as a process: starts it, and on SIGINT/SIGTERM stops it gracefully (in-flight
 * calls finish, up to the shutdown timeout) and exits 0. A second signal exits at once.
 */
export async function runNode(role: NodeRole): Promise<void> {
	let node: StartedNode;
	try {
		node = await startNode(role, process.env);
	} catch (err) {
		// These messages say what to fix; a stack trace would only hide them.
		if (err instanceof Errors.MoleculerError && STARTUP_ERRORS.has(err.type)) {
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
