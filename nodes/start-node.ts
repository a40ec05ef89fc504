import * as fs from "node:fs";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import { ServiceBroker, type Transporters } from "moleculer";
import { createBrokerOptions } from "../moleculer.config";
import { modelMemoryBudget } from "../lib/capacity/model-memory";
import { detectCapacity, type NodeCapacity } from "../lib/capacity/node-capacity";
import { applyGcTuning } from "../lib/process/gc-tuning";
import { loadNodeConfig, type Environment, type NodeConfig } from "../lib/config/node-config";
import type { NatsSettings } from "../lib/settings/nats-settings";
import { accessMiddleware } from "../lib/accounts/access";
import { checkEncryptionKey } from "../lib/artifacts/encryption/key-check";
import { fleetSecretOf } from "../lib/accounts/fleet-secret";
import { FleetTrust } from "../lib/accounts/fleet-trust";
import { openDatabase, type Database } from "../lib/db/database";
import { InFlightCounter } from "../lib/fleet/in-flight";
import { METADATA_KEY, type NodeMetadata } from "../lib/fleet/node-metadata";
import {
	ROLE_SERVICES,
	SERVICE,
	servesHttp,
	type ServiceName,
	usesDatabase,
	type NodeRole,
} from "../lib/fleet/node-role";
import { startHealthServer, type HealthServer } from "../lib/health/health-server";
import { runReadinessChecks } from "../lib/health/readiness";
import { nodeMetricsOf } from "../lib/metrics/node-metrics";
import { aggregateMetrics, type MetricsJson } from "../lib/metrics/metrics-aggregation";
import { ChunkedNatsTransporter } from "../lib/fleet/chunked-nats-transporter";
import { ThreadPortTransporter } from "../lib/fleet/thread-port-transporter";
import { MODELFLEET_VERSION } from "../lib/version";
import { nodeReadinessChecks } from "./health-checks";
import { createRoleServices, type NodeContext } from "./role-services";
import { ServingThreads } from "./serving-threads";

export interface StartedNode {
	broker: ServiceBroker;
	database: Database | null;
	config: Readonly<NodeConfig>;
	capacity: NodeCapacity;
	/** The URL the gateway listens on, when this role has one. */
	httpUrl: string | null;
	/** The port of GET /health/live and /health/ready (MODELFLEET_HEALTH_PORT), when set. */
	healthPort: number | null;
	/** The port of the KServe v2 gRPC protocol (MODELFLEET_GRPC_PORT), when this node serves it. */
	grpcPort: number | null;
	/** The serving threads of an all-in-one node with MODELFLEET_SERVING_THREADS > 1. */
	servingThreads: ServingThreads | null;
	/** Stops the broker (in-flight calls finish first), then closes the database. */
	stop(): Promise<void>;
}

/** How a node is started besides its settings: what an all-in-one node gives its serving threads. */
export interface StartOptions {
	/** The broker's transporter, instead of the one the settings name. */
	transporter?: Transporters.Base;
	/** The gateway listens with SO_REUSEPORT (nodes/serving-threads.ts). */
	reusePort?: boolean;
	/** Services the gateway waits to see before it listens (a serving thread's). */
	listenAfter?: readonly ServiceName[];
}

/** What the node's metrics are made of besides its own registry. */
interface ThreadMetrics {
	/** This node is a serving thread: the process's own figures are the main thread's to give. */
	inThread: boolean;
	/** The serving threads' metrics, merged into the main thread's /metrics. */
	ofServingThreads(): Promise<MetricsJson[]>;
}

/** A readiness check (the database's answer) slower than this counts as not met. */
const HEALTH_CHECK_TIMEOUT_MS = 2000;

/** Where a URL should point: a wildcard listen address is reached through the host name. */
function reachableHost(host: string, fallback: string): string {
	return host === "0.0.0.0" || host === "::" ? fallback : host;
}

/** What the node announces to the fleet: its role, version, capacity and where it is reached. */
function nodeMetadata(
	role: NodeRole,
	config: Readonly<NodeConfig>,
	capacity: NodeCapacity,
): NodeMetadata {
	const hostname = os.hostname();
	const advertisedHost = reachableHost(config.host, hostname);
	const scheme = config.httpsTls ? "https" : "http";
	return {
		role,
		version: MODELFLEET_VERSION,
		startedAt: new Date().toISOString(),
		capacity,
		httpUrl:
			servesHttp(role) && config.port !== 0
				? `${scheme}://${advertisedHost}:${config.port}`
				: null,
		metricsUrl:
			config.metricsPort !== null
				? `http://${advertisedHost}:${config.metricsPort}/metrics`
				: null,
		modelMemoryBytes: ROLE_SERVICES[role].includes(SERVICE.predictor)
			? modelMemoryBudget(config.modelCacheBytes, capacity)
			: null,
		trainerSlots: ROLE_SERVICES[role].includes(SERVICE.trainer) ? config.trainerSlots : null,
	};
}

/**
 * A promise rejected when NATS refuses the node's credentials or TLS: the start fails instead
 * of waiting on Moleculer's retries, which would be refused the same way.
 */
function natsRefusal(): { refused: Promise<never>; refuse: (err: Error) => void } {
	let refuse: (err: Error) => void = () => undefined;
	const refused = new Promise<never>((_, reject) => (refuse = reject));
	refused.catch(() => undefined);
	return { refused, refuse: err => refuse(err) };
}

/** Creates the role's services, starts the broker and, when configured, the health server. */
async function startServices(
	role: NodeRole,
	broker: ServiceBroker,
	refused: Promise<never>,
	context: Omit<NodeContext, "broker">,
	threads: ThreadMetrics,
): Promise<{ health: HealthServer | null; servers: HealthServer[] }> {
	const { config, database } = context;
	for (const schema of createRoleServices({ ...context, broker })) {
		broker.createService(schema);
	}
	await Promise.race([broker.start(), refused]);
	const metrics = nodeMetricsOf(broker);
	// The process's figures once, from its main thread, whatever threads it serves on.
	if (!threads.inThread) metrics.collectProcessMetrics();
	metrics.nodeInfo.set({ node_id: broker.nodeID, role, version: MODELFLEET_VERSION }, 1);
	const transporter = broker.transit?.tx;
	if (transporter instanceof ChunkedNatsTransporter) {
		metrics.onScrape(async () => {
			const stats = transporter.directLinkStats();
			if (stats !== null) metrics.setDirectLinks(stats);
		});
	}
	const checks = nodeReadinessChecks(role, broker, database);
	const serve = (port: number) =>
		startHealthServer({
			host: config.host,
			port,
			nodeID: broker.nodeID,
			ready: () => runReadinessChecks(checks, HEALTH_CHECK_TIMEOUT_MS),
			metrics: async () => {
				const others = await threads.ofServingThreads();
				if (others.length === 0) return metrics.text();
				return aggregateMetrics([await metrics.json(), ...others]);
			},
		});
	// The metrics port answers the probes too: one server kind, two ports an operator may want apart.
	const servers: HealthServer[] = [];
	try {
		if (config.metricsPort !== null) servers.push(await serve(config.metricsPort));
		const health = config.healthPort !== null ? await serve(config.healthPort) : null;
		return { health, servers: health ? [...servers, health] : servers };
	} catch (err) {
		await Promise.all(servers.map(server => server.close()));
		throw err;
	}
}

/** The process's V8 tuning and the data directory, checked against the encryption key. */
function prepareProcess(config: Readonly<NodeConfig>): void {
	applyGcTuning({
		externalMemoryInHeapLimit: config.gcExternalMemoryInHeapLimit,
		youngBufferMiB: config.gcYoungBufferMiB,
		heapGrowthPercent: config.gcHeapGrowthPercent,
	});
	fs.mkdirSync(config.dataDir, { recursive: true });
	// Before anything reads a blob: a wrong or missing key stops the node here, naming the setting.
	checkEncryptionKey(config.dataDir, config.encryptionKey);
}

/** What a started node runs besides its broker and database. */
interface NodeParts {
	health: HealthServer | null;
	servers: HealthServer[];
	threads: ServingThreads | null;
}

/** Stops a node: probes first, then serving threads, the broker, the database. */
async function stopParts(
	parts: NodeParts,
	broker: ServiceBroker,
	database: Database | null,
): Promise<void> {
	// Probes hear nothing once the node stops: the orchestrator stops sending it work first.
	await Promise.all(parts.servers.map(server => server.close()));
	// The serving threads finish their requests while the control services still answer.
	await parts.threads?.stop();
	await broker.stop();
	await database?.close();
}

/** With serving threads, the main thread's part of the node's model memory (each thread's). */
function withThreadShare(
	config: Readonly<NodeConfig>,
	capacity: NodeCapacity,
): Readonly<NodeConfig> {
	if (config.servingThreads <= 1) return config;
	const budget = modelMemoryBudget(config.modelCacheBytes, capacity);
	return Object.freeze({
		...config,
		modelCacheBytes: Math.floor(budget / config.servingThreads),
	});
}

/**
 * Starts a node of a role: reads configuration, detects capacity, creates the broker with
 * the node's metadata and the role's services, starts it and prints what it runs.
 */
export async function startNode(
	role: NodeRole,
	env: Environment,
	print: (line: string) => void = line => console.log(line),
	options: StartOptions = {},
): Promise<StartedNode> {
	const loaded = loadNodeConfig(role, env);
	prepareProcess(loaded);

	const { capacity, warnings } = await detectCapacity(loaded.declaredCapacity);
	const config = withThreadShare(loaded, capacity);
	const metadata = nodeMetadata(role, config, capacity);

	// The schema is brought up to date before any service can touch it.
	const database = usesDatabase(role)
		? await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir })
		: null;

	const { refused, refuse } = natsRefusal();
	const inFlight = new InFlightCounter();
	// Every call this node serves must bring an identity signed with the fleet secret.
	const fleetSecret = fleetSecretOf(config);
	const trust = new FleetTrust(fleetSecret);
	// The main thread of a node with serving threads is the hub of the threads' transporter.
	const hub =
		config.servingThreads > 1 ? new ThreadPortTransporter({ ports: [], hub: true }) : null;
	const transporter = options.transporter ?? hub ?? undefined;
	const broker = new ServiceBroker(
		createBrokerOptions(config, {
			metadata: { [METADATA_KEY]: metadata },
			middlewares: [inFlight.middleware(), accessMiddleware(trust)],
			onNatsRefused: refuse,
			...(transporter ? { transporter } : {}),
		}),
	);
	for (const warning of warnings) broker.logger.warn(warning);
	const parts: NodeParts = { health: null, servers: [], threads: null };
	const stop = () => stopParts(parts, broker, database);
	try {
		const context = {
			...{ config, capacity, inFlight, database, print, trust },
			reusePort: options.reusePort === true || hub !== null,
			listenAfter: options.listenAfter ?? [],
		};
		Object.assign(
			parts,
			await startServices(role, broker, refused, context, {
				inThread: options.transporter !== undefined,
				ofServingThreads: async () => parts.threads?.metrics() ?? [],
			}),
		);
		if (hub !== null) {
			parts.threads = servingThreadsOf(config, env, broker, hub, fleetSecret);
			await parts.threads.start();
		}
	} catch (err) {
		await stop().catch(() => undefined);
		throw err;
	}

	const httpUrl = servesHttp(role) ? listeningUrl(broker, config) : null;
	const healthPort = parts.health?.port ?? null;
	const grpcPort = grpcPortOf(broker);
	printBanner(print, { role, broker, config, capacity, httpUrl, database, healthPort, grpcPort });
	return {
		broker,
		database,
		config,
		capacity,
		httpUrl,
		healthPort,
		grpcPort,
		servingThreads: parts.threads,
		stop,
	};
}

/** The port the node serves gRPC on, when it does. */
function grpcPortOf(broker: ServiceBroker): number | null {
	const api = broker.getLocalService(SERVICE.api) as
		{ grpcPort?: () => number | null } | undefined;
	return api?.grpcPort?.() ?? null;
}

/** The serving threads of an all-in-one node, on the port its main thread listens on. */
function servingThreadsOf(
	config: Readonly<NodeConfig>,
	env: Environment,
	broker: ServiceBroker,
	hub: ThreadPortTransporter,
	fleetSecret: string,
): ServingThreads {
	return new ServingThreads({
		count: config.servingThreads - 1,
		env,
		port: listeningPort(broker) ?? config.port,
		fleetSecret,
		dataDir: config.dataDir,
		plaintextDir: config.plaintextDir,
		modelCacheBytes: config.modelCacheBytes ?? 0,
		broker,
		transporter: hub,
	});
}

/** The port the gateway listens on (PORT=0 resolved); null when it does not listen. */
function listeningPort(broker: ServiceBroker): number | null {
	const api = broker.getLocalService(SERVICE.api) as {
		server?: { address(): AddressInfo | string | null };
	};
	const address = api?.server?.address();
	if (address === null || address === undefined || typeof address === "string") return null;
	return address.port;
}

function listeningUrl(broker: ServiceBroker, config: Readonly<NodeConfig>): string | null {
	const port = listeningPort(broker);
	if (port === null) return null;
	const scheme = config.httpsTls ? "https" : "http";
	return `${scheme}://${reachableHost(config.host, "localhost")}:${port}`;
}

/** Where the node's NATS is and how it connects: never the password or token. */
function describeNats(nats: NatsSettings): string {
	const how = [nats.tls ? "TLS" : "plain", NATS_AUTH_LABEL[nats.auth.kind]];
	return `${nats.displayUrl} (${how.join(", ")})`;
}

const NATS_AUTH_LABEL: Record<NatsSettings["auth"]["kind"], string> = {
	none: "no credentials",
	password: "user and password",
	token: "token",
	creds: "creds file",
	nkey: "nkey",
};

/** A URL without its password, for the banner. */
function redactUrl(text: string): string {
	const url = new URL(text);
	if (url.password !== "") url.password = "***";
	return url.toString();
}

function formatBytes(bytes: number | null): string {
	if (bytes === null) return "?";
	return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}

function printBanner(
	print: (line: string) => void,
	node: {
		role: NodeRole;
		broker: ServiceBroker;
		config: Readonly<NodeConfig>;
		capacity: NodeCapacity;
		httpUrl: string | null;
		database: Database | null;
		healthPort: number | null;
		grpcPort: number | null;
	},
): void {
	const { role, broker, config, capacity, httpUrl, database, healthPort, grpcPort } = node;
	const services = broker.services
		.map(service => service.name)
		.filter(name => !name.startsWith("$"));
	const gpus =
		capacity.gpus.length === 0
			? "none"
			: capacity.gpus
					.map(gpu => `#${gpu.index} ${gpu.name} ${formatBytes(gpu.memoryTotalBytes)}`)
					.join("; ") + ` (${capacity.gpuSource})`;
	const runtimes = capacity.runtimes
		.map(runtime => `${runtime.name} [${runtime.executionProviders.join(", ")}]`)
		.join(", ");
	const lines = [
		`modelfleet ${MODELFLEET_VERSION} — ${role} node started`,
		`  nodeID       ${broker.nodeID}`,
		`  namespace    ${config.namespace}`,
		`  transporter  ${config.nats ? describeNats(config.nats) : config.servingThreads > 1 ? `between threads (${config.servingThreads} serving threads, the main one included)` : role === "serving" ? "between threads" : "none (one process)"}`,
		`  cacher       ${config.redisUrl ? `redis ${redactUrl(config.redisUrl)}` : "memory"}`,
		`  services     ${services.join(", ")}`,
		...(httpUrl ? [`  http         ${httpUrl}  (GET /health/ready, /api/v1/nodes)`] : []),
		...(config.metricsPort !== null
			? [
					`  metrics      http://${reachableHost(config.host, "localhost")}:${config.metricsPort}/metrics`,
				]
			: []),
		...(healthPort !== null
			? [
					`  health       http://${reachableHost(config.host, "localhost")}:${healthPort}  (GET /health/live, /health/ready, /metrics)`,
				]
			: []),
		...(grpcPort !== null
			? [
					`  grpc         ${reachableHost(config.host, "localhost")}:${grpcPort}  (KServe v2 / Triton gRPC${config.httpsTls ? ", TLS" : ""})`,
				]
			: []),
		...(database ? [`  database     ${database.engine} ${database.location}`] : []),
		`  data dir     ${config.dataDir}`,
		`  encryption   ${config.encryptionKey ? `on, master key id ${config.encryptionKey.id}` : "off"}`,
		`  capacity     ${capacity.cpus} CPUs, ${formatBytes(capacity.memoryBytes)}, GPUs: ${gpus}`,
		`  runtimes     ${runtimes}`,
	];
	for (const line of lines) print(line);
}
