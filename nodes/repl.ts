/**
 * `modelfleet repl` — the operator REPL: a broker with no services of its own joins a running
 * fleet (same TRANSPORTER and MODELFLEET_NAMESPACE as its nodes) and opens moleculer-repl with
 * the `fleet …` commands (lib/repl), acting as the identity of an API key.
 */
import * as os from "node:os";
import { Context, Errors, ServiceBroker } from "moleculer";
import REPL from "moleculer-repl";
import { createBrokerOptions } from "../moleculer.config";
import { loadNodeConfig, type Environment, type NodeConfig } from "../lib/config/node-config";
import { SERVICE } from "../lib/fleet/node-role";
import { FleetSession, type FleetClient } from "../lib/repl/fleet-session";
import { sessionIdentityMiddleware } from "../lib/repl/session-identity";
import { fleetViewOf } from "../lib/routing/fleet-view";

/** How long the REPL waits at start for the fleet's scheduler and accounts to be seen. */
const DISCOVERY_TIMEOUT_MS = 10_000;

export const REPL_PROMPT = "modelfleet $";

/** Calls into the fleet through the REPL's broker, answering with the meta that came back. */
function brokerClient(broker: ServiceBroker): FleetClient {
	return {
		async call(action, params, meta) {
			// A root context, so meta the callee sets (servedBy) is merged back into it.
			const ctx = Context.create(broker);
			ctx.meta = { ...meta };
			const value: unknown = await ctx.call(action, params);
			return { value, meta: ctx.meta as Record<string, unknown> };
		},
		has(action) {
			return broker.registry.getActionEndpoints(action)?.hasAvailable() ?? false;
		},
		useRoutingTable(table) {
			fleetViewOf(broker).setTable(table);
		},
	};
}

/** The REPL's broker settings: a node's, but quiet, with no metrics port and its own ID. */
function replConfig(config: Readonly<NodeConfig>, env: Environment): NodeConfig {
	return {
		...config,
		nodeID: config.nodeID ?? `repl-${os.hostname()}-${process.pid}`,
		metricsPort: null,
		logLevel: env.LOG_LEVEL === undefined ? "warn" : config.logLevel,
	};
}

type ReplNodeConfig = Readonly<NodeConfig> & { nats: NonNullable<NodeConfig["nats"]> };

/** The fleet settings the REPL joins with; ends the process when they are wrong or missing. */
function loadReplConfig(env: Environment): ReplNodeConfig {
	let config: Readonly<NodeConfig>;
	try {
		// The REPL reads the fleet settings a gateway reads (transporter, namespace, timeouts),
		// but is no fleet node: it never holds the fleet secret, and acts only as a key it logs in with.
		config = loadNodeConfig("gateway", env, { fleetNode: false });
	} catch (err) {
		console.error(err instanceof Errors.MoleculerError ? err.message : err);
		process.exit(1);
	}
	if (config.nats === null) {
		console.error(
			"error: TRANSPORTER is not set. The REPL joins a running fleet: give it the fleet's " +
				"TRANSPORTER (nats://host:4222) and MODELFLEET_NAMESPACE.",
		);
		process.exit(2);
	}
	return config as ReplNodeConfig;
}

/** Starts the broker (ending the process when it cannot join) and waits for the control services. */
async function joinFleet(
	broker: ServiceBroker,
	config: ReplNodeConfig,
	print: (line: string) => void,
): Promise<void> {
	try {
		await broker.start();
	} catch (err) {
		console.error(`error: the REPL could not join the fleet: ${(err as Error).message}`);
		process.exit(1);
	}

	print(
		`modelfleet repl — joined namespace '${config.namespace}' over ${config.nats.displayUrl} as ${broker.nodeID}`,
	);
	const needed = [SERVICE.scheduler, ...(config.apiKey !== null ? [SERVICE.accounts] : [])];
	try {
		await broker.waitForServices(needed, DISCOVERY_TIMEOUT_MS);
	} catch {
		print(
			`warning: no ${needed.join(" or ")} seen in namespace '${config.namespace}' yet; ` +
				"fleet commands fail until the fleet's control node is up.",
		);
	}
}

/** Opens moleculer-repl with the `fleet …` command. */
function openRepl(broker: ServiceBroker, fleet: FleetSession): void {
	// moleculer-repl splits a line into words before a command sees it; `fleet` reads the line
	// as typed, so a JSON request needs no shell quoting.
	let lastLine = "";
	const server = REPL(broker, {
		delimiter: REPL_PROMPT,
		customCommands: [
			{
				command: "fleet [args...]",
				description: "modelfleet: nodes, models, deploy, scale, undeploy, placements, …",
				alias: null,
				allowUnknownOptions: true,
				options: [],
				parse(this: unknown, command: { args: string[]; params?: unknown }) {
					command.params = { args: command.args };
				},
				async action(_broker: ServiceBroker, params: { args?: string[] }) {
					const line = /^\s*fleet(\s|$)/.test(lastLine)
						? lastLine
						: ["fleet", ...(params.args ?? [])].join(" ");
					await fleet.run(line);
				},
			},
		],
	});
	server.prependListener("line", (line: string) => {
		lastLine = line;
	});
}

/** Starts the REPL; resolves once it is open (it ends the process when the operator quits). */
export async function runRepl(
	env: Environment,
	print: (line: string) => void = line => console.log(line),
): Promise<void> {
	const config = loadReplConfig(env);
	let session: FleetSession | null = null;
	const broker = new ServiceBroker(
		createBrokerOptions(replConfig(config, env), {
			middlewares: [sessionIdentityMiddleware(async () => (await session?.token()) ?? null)],
		}),
	);
	const stop = (): void => {
		broker
			.stop()
			.catch(() => undefined)
			.finally(() => process.exit(0));
	};
	process.on("SIGTERM", stop);
	await joinFleet(broker, config, print);

	const fleet = new FleetSession(brokerClient(broker), print);
	session = fleet;
	if (config.apiKey !== null) {
		await fleet.run({ kind: "login", key: config.apiKey });
	} else {
		print("no MODELFLEET_API_KEY: run 'fleet login <api-key>' before tenant-scoped commands.");
	}
	print("Type 'fleet help' for the fleet commands, 'help' for moleculer-repl's own.");
	openRepl(broker, fleet);
}
