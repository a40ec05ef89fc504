/**
 * A fleet of real modelfleet processes for cluster tests: each a role started from sources in
 * a namespace of the test's own over the real NATS server, with the settings every cluster
 * test shares; their output for failure messages; all of them killed at the end.
 */
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import { connect } from "nats";
import { eventStreamNames } from "../../lib/domain-events/jetstream-event-log";
import { serviceUrl } from "./external-services";
import { TEST_FLEET_SECRET } from "./fleet-secret";
import { NodeProcess, freePort } from "./node-process";

/** The fleet's heartbeat: a node silent for `timeoutS` is shown unavailable. */
export const FLEET_HEARTBEAT = { intervalS: 1, timeoutS: 3 } as const;

/** Status and reconcile loops fast enough for a test to see deployments and jobs move. */
export const FAST_LOOPS: Readonly<Record<string, string>> = {
	MODELFLEET_STATUS_INTERVAL_MS: "300",
	MODELFLEET_RECONCILE_INTERVAL_MS: "200",
};

/** A CPU-only worker's declared capacity, the same on every machine the tests run on. */
export const CPU_WORKER: Readonly<Record<string, string>> = {
	MODELFLEET_CPUS: "2",
	MODELFLEET_MEMORY: "4GiB",
	MODELFLEET_GPUS: "none",
	MODELFLEET_POOL_THREADS: "1",
};

export interface BasicFleetOptions {
	/** The control node's bootstrap owner key. */
	ownerKey: string;
	/** The control node's PostgreSQL database. */
	databaseUrl: string;
	/** Names of the CPU workers; default one, "worker". */
	workers?: readonly string[];
	/** Added to every worker's settings (after CPU_WORKER). */
	workerEnv?: Record<string, string>;
	/** Added to every process's settings. */
	env?: Record<string, string>;
	/** Added to one node's settings, by its name ("gateway", "control", a worker's), last. */
	nodeEnv?: Record<string, Record<string, string>>;
}

export class FleetProcesses {
	/** The fleet's Moleculer namespace: `<prefix>-<8 random hex digits>`. */
	readonly namespace: string;
	private readonly started: NodeProcess[] = [];

	/** `env` goes to every process, on top of the shared settings. */
	constructor(
		prefix: string,
		private readonly env: Readonly<Record<string, string>> = {},
	) {
		this.namespace = `${prefix}-${randomUUID().slice(0, 8)}`;
	}

	/**
	 * Starts `modelfleet <role>` as node `name` with its data under /tmp/<namespace>/<name>,
	 * METRICS_PORT off and LOG_LEVEL warn; `env` adds to or overrides that.
	 */
	start(name: string, role: string, env: Record<string, string> = {}): NodeProcess {
		const node = NodeProcess.start(name, role, {
			TRANSPORTER: serviceUrl("nats"),
			MODELFLEET_FLEET_SECRET: TEST_FLEET_SECRET,
			MODELFLEET_NAMESPACE: this.namespace,
			MODELFLEET_NODE_ID: name,
			MODELFLEET_HEARTBEAT_INTERVAL_S: String(FLEET_HEARTBEAT.intervalS),
			MODELFLEET_HEARTBEAT_TIMEOUT_S: String(FLEET_HEARTBEAT.timeoutS),
			// Blobs on the control node's disk unless a test picks a backend: a bucket per test
			// would stay on the shared NATS server.
			MODELFLEET_ARTIFACTS: "local",
			...this.env,
			MODELFLEET_DATA_DIR: `/tmp/${this.namespace}/${name}`,
			METRICS_PORT: "off",
			LOG_LEVEL: "warn",
			...env,
		});
		this.started.push(node);
		return node;
	}

	/**
	 * The usual fleet: a gateway on a free port of 127.0.0.1 (named "gateway"), a control node
	 * ("control") and CPU workers. Returns the gateway's base URL (`http://127.0.0.1:<port>`);
	 * the caller waits for what it needs of the fleet.
	 */
	async startBasicFleet(options: BasicFleetOptions): Promise<string> {
		const port = await freePort();
		const env = options.env ?? {};
		const own = (name: string) => options.nodeEnv?.[name] ?? {};
		this.start("gateway", "gateway", {
			...env,
			HOST: "127.0.0.1",
			PORT: String(port),
			...own("gateway"),
		});
		this.start("control", "control", {
			...env,
			DATABASE_URL: options.databaseUrl,
			MODELFLEET_BOOTSTRAP_KEY: options.ownerKey,
			...own("control"),
		});
		for (const name of options.workers ?? ["worker"])
			this.start(name, "worker", {
				...env,
				...CPU_WORKER,
				...options.workerEnv,
				...own(name),
			});
		return `http://127.0.0.1:${port}`;
	}

	/** Every process started so far, in order, dead ones included. */
	get processes(): readonly NodeProcess[] {
		return this.started;
	}

	/** The process last started as `name`. */
	get(name: string): NodeProcess {
		const node = this.started.findLast(p => p.name === name);
		if (!node) throw new Error(`no process named ${name} was started`);
		return node;
	}

	/** What every process printed, each under its name. */
	logs(): string {
		return this.started.map(p => `--- ${p.name} ---\n${p.log}`).join("\n");
	}

	/** For `.catch`: throws the error's message again with the processes' output after it. */
	readonly failWithLogs = (err: unknown): never => {
		throw new Error(`${(err as Error).message}\n${this.logs()}`);
	};

	/**
	 * Kills every process with SIGKILL, waits for them to exit and removes their data, and the
	 * fleet's event stream from the shared NATS server.
	 */
	async killAll(): Promise<void> {
		for (const node of this.started) node.kill("SIGKILL");
		await Promise.all(this.started.map(p => p.exited));
		fs.rmSync(`/tmp/${this.namespace}`, { recursive: true, force: true });
		await deleteEventStream(this.namespace);
	}
}

/** Removes a fleet namespace's event stream from the shared NATS server, if it has one. */
export async function deleteEventStream(namespace: string): Promise<void> {
	const url = new URL(serviceUrl("nats"));
	const nc = await connect({ servers: url.host, timeout: 2000 }).catch(() => null);
	if (!nc) return;
	try {
		const jsm = await nc.jetstreamManager();
		await jsm.streams.delete(eventStreamNames(namespace).stream).catch(() => undefined);
	} catch {
		// No JetStream there: no stream either.
	} finally {
		await nc.close();
	}
}
