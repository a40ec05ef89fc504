import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { KEY_FORM, MasterKey } from "../artifacts/encryption/master-key";
import { InvalidConfigurationError } from "../errors";
import { parseDeclaredGpus, DECLARED_GPUS_FORM } from "../capacity/declared-gpus";
import type { DeclaredCapacity } from "../capacity/node-capacity";
import { servesHttp, type NodeRole } from "../fleet/node-role";
import type { CoalescerOptions } from "../fleet/call-coalescer";
import { resolvePostgresConnection } from "../db/postgres-connection";
import type { ArtifactsBackendSetting } from "../artifacts/backends";
import { readArtifactsSetting } from "./artifact-settings";
import { EnvReader, parseByteSize } from "../settings/env-reader";
import { DEFAULT_MAX_JSON_DEPTH, MAX_JSON_DEPTH_SETTING } from "../json-policy";
import { resolveNatsSettings, type NatsSettings } from "../settings/nats-settings";
import { readDirectLinkSettings, type DirectLinkSettings } from "../settings/direct-link-settings";
import { checkCertificateAndKey } from "../settings/tls-files";
import { MIN_FLEET_SECRET_LENGTH } from "../settings/fleet-secret";
import { readObservabilitySettings, type ObservabilitySettings } from "./observability-settings";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Everything a node is configured with, read once from the environment at start.
 * docs/configuration.md lists the same variables with the same defaults.
 */
/** Durable domain events and webhooks: how long events are kept, how webhooks are retried. */
export interface EventsConfig {
	/** MODELFLEET_EVENTS_RETENTION_S — default 604800 (7 days): how long durable events are kept. */
	retentionS: number;
	/** MODELFLEET_PREDICTION_EVENTS_INTERVAL_S — default 60: the interval of prediction.summary events. */
	predictionSummaryS: number;
	/** MODELFLEET_EVENTS_STREAM_POLL_MS — default 1000: how often an events SSE stream looks for new events. */
	streamPollMs: number;
	/** MODELFLEET_WEBHOOK_RETRY_BASE_MS — default 5000: the delay after a first failed delivery; doubled each time. */
	webhookRetryBaseMs: number;
	/** MODELFLEET_WEBHOOK_RETRY_MAX_MS — default 3600000: the longest delay between two attempts. */
	webhookRetryMaxMs: number;
	/** MODELFLEET_WEBHOOK_RETRY_FOR_S — default 86400 (a day): how long a delivery is retried before it is dead-lettered. */
	webhookRetryForS: number;
	/** MODELFLEET_WEBHOOK_TIMEOUT_MS — default 10000: how long one attempt waits for the receiver. */
	webhookTimeoutMs: number;
	/** MODELFLEET_WEBHOOK_POLL_MS — default 1000: how often the outbox is looked at for due deliveries. */
	webhookPollMs: number;
	/** MODELFLEET_WEBHOOK_ALLOW_PRIVATE — default false: allow webhook targets on loopback and private addresses. */
	webhookAllowPrivate: boolean;
}

export interface NodeConfig {
	role: NodeRole;
	/** MODELFLEET_NODE_ID — default: Moleculer's hostname-pid. */
	nodeID: string | null;
	/** MODELFLEET_NAMESPACE — default "modelfleet"; nodes only see nodes of the same namespace. */
	namespace: string;
	/** TRANSPORTER — default none: one process, no network. `nats://host:4222` or `tls://…` joins a fleet. */
	transporter: string | null;
	/**
	 * TRANSPORTER resolved with MODELFLEET_NATS_CREDS, _NKEY_SEED, _TLS_CA, _TLS_CERT and _TLS_KEY:
	 * servers, credentials and TLS (lib/settings/nats-settings.ts); null without TRANSPORTER.
	 */
	nats: NatsSettings | null;
	/** REDIS_URL — default none: memory cacher. Set: Redis cacher shared by the fleet. */
	redisUrl: string | null;
	/** DATABASE_URL — default none: embedded PGlite under the data directory. */
	databaseUrl: string | null;
	/**
	 * MODELFLEET_TLS_CERT, MODELFLEET_TLS_KEY — the gateway serves HTTPS with this certificate and
	 * key (PEM files); default null: HTTP. Read by roles that serve HTTP only.
	 */
	httpsTls: { certFile: string; keyFile: string } | null;
	/** HOST — default "0.0.0.0". */
	host: string;
	/** PORT — default 3000. */
	port: number;
	/** MODELFLEET_DATA_DIR — default "./data"; everything this node stores locally. */
	dataDir: string;
	/** LOG_LEVEL — default "info". */
	logLevel: LogLevel;
	/**
	 * LOG_FORMAT, MODELFLEET_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_ENDPOINT) and
	 * MODELFLEET_TRACE_SAMPLE_RATIO — log lines and tracing (lib/config/observability-settings.ts).
	 */
	observability: ObservabilitySettings;
	/** MODELFLEET_REQUEST_TIMEOUT_MS — default 30000. */
	requestTimeoutMs: number;
	/** MODELFLEET_RETRIES — default 3; used by idempotent actions only. */
	retries: number;
	/** MODELFLEET_HEARTBEAT_INTERVAL_S — default 5. */
	heartbeatIntervalS: number;
	/** MODELFLEET_HEARTBEAT_TIMEOUT_S — default 15. */
	heartbeatTimeoutS: number;
	/** MODELFLEET_STATUS_INTERVAL_MS — default: the heartbeat interval. */
	statusIntervalMs: number;
	/** MODELFLEET_TRAINER_SLOTS — default 1: training jobs a worker runs at once. */
	trainerSlots: number;
	/** MODELFLEET_TRAINING_BACKEND — default "auto" (tfjs-node or -gpu when installed, else wasm). */
	trainingBackend: "auto" | "wasm" | "cpu" | "tensorflow";
	/** MODELFLEET_OPTIMIZATION_SWEEP_MS — default 300: an optimization's latency sweep, per batch size and model. */
	optimizationSweepMs: number;
	/** MODELFLEET_RECONCILE_INTERVAL_MS — default 1000: how often the scheduler checks placements and autoscaling. */
	reconcileIntervalMs: number;
	/**
	 * MODELFLEET_LEADER_LEASE_MS — default 6000: how long a control node's leadership lease lasts
	 * without renewal (lib/scheduler/leader-lease.ts); another control node leads at most this
	 * plus the renew interval after the leader dies.
	 */
	leaderLeaseMs: number;
	/** MODELFLEET_LEADER_RENEW_MS — default 1000: how often the leader renews, and others try to take the lease. */
	leaderRenewMs: number;
	/**
	 * MODELFLEET_CONTROL_OUTAGE_S — default 3600: how long gateways and predictors keep answering
	 * from what they already know (verified API keys, resolved versions) while no control node
	 * answers (lib/cache/fallback-cache.ts); 0 turns that off.
	 */
	controlOutageS: number;
	/**
	 * MODELFLEET_CONTROL_WAIT_MS — default 0: how long a request waits for accounts to confirm
	 * a key the gateway already verified before, before going on with that answer; 0: it does
	 * not wait (the key is confirmed behind it, and a revocation applies from the next request).
	 */
	controlWaitMs: number;
	/**
	 * MODELFLEET_ACCOUNTS_CACHE_MS — default 10000: how long a gateway trusts what accounts told
	 * it (a verified key, a tenant's quotas) before asking again; a revoked key keeps working, and
	 * a changed quota waits, this long at most.
	 */
	accountsCacheMs: number;
	/** MODELFLEET_SHUTDOWN_TIMEOUT_MS — default 10000. */
	shutdownTimeoutMs: number;
	/** MODELFLEET_CIRCUIT_BREAKER — default true. */
	circuitBreaker: boolean;
	/**
	 * MODELFLEET_GC_EXTERNAL_IN_HEAP_LIMIT — default true: buffers outside V8's heap count toward
	 * the heap's own limit rather than forcing a full collection every 64 MiB of them
	 * (lib/process/gc-tuning.ts).
	 */
	gcExternalMemoryInHeapLimit: boolean;
	/**
	 * MODELFLEET_GC_YOUNG_BUFFERS_MIB — default 32: the buffers held by young objects that start a
	 * young collection (V8's own: 128 MiB); 0 keeps V8's (lib/process/gc-tuning.ts).
	 */
	gcYoungBufferMiB: number;
	/**
	 * MODELFLEET_GC_HEAP_GROWTH_PERCENT — default 200: how far the heap may grow past what survived
	 * the last full collection before the next; 0 keeps V8's own factor (lib/process/gc-tuning.ts).
	 */
	gcHeapGrowthPercent: number;
	/**
	 * MODELFLEET_LOST_NODE_PROBE_MS — default 100; a call pending this long (or 4× the node's usual
	 * latency) makes the caller ask NATS whether the node is still connected; 0 turns it off.
	 */
	lostNodeProbeMs: number;
	/**
	 * MODELFLEET_DIRECT_LINKS, MODELFLEET_DIRECT_LINK_HOST, _PORT, _ADVERTISE — requests and
	 * responses between fleet nodes over direct TCP links instead of through the NATS server
	 * (lib/settings/direct-link-settings.ts); null when off or not in a fleet.
	 */
	directLinks: DirectLinkSettings | null;
	/**
	 * MODELFLEET_MAX_MESSAGE_BYTES — default 256 MiB; the largest message between nodes. Messages
	 * over the NATS server's payload limit travel in chunks and are put together up to this size.
	 */
	maxMessageBytes: number;
	/** METRICS_PORT — default 3030; "off" or 0 disables the Prometheus endpoint. */
	metricsPort: number | null;
	/**
	 * MODELFLEET_HEALTH_PORT — default none ("off"): a port of its own answering GET /health/live
	 * and /health/ready for container probes (nodes/health-checks.ts) and /metrics for Prometheus;
	 * 0 picks a free one.
	 */
	healthPort: number | null;
	/**
	 * MODELFLEET_GRPC_PORT — default 8001 (Triton's) on gateway and all-in-one nodes: the KServe
	 * v2 / Triton gRPC protocol (docs/grpc.md); "off" serves none, 0 picks a free port.
	 */
	grpcPort: number | null;
	/**
	 * MODELFLEET_NODE_FORGET_S — default 3600: a node unavailable this long leaves every node's
	 * list (`/api/v1/nodes`, `fleet nodes`); 0 keeps lost nodes until `fleet forget`.
	 */
	nodeForgetS: number;
	/**
	 * MODELFLEET_ARTIFACTS (local, nats or s3://bucket/prefix) and its MODELFLEET_ARTIFACTS_*
	 * settings (lib/config/artifact-settings.ts) — where control nodes keep blobs; default nats
	 * on a control node of a NATS fleet, else local.
	 */
	artifacts: ArtifactsBackendSetting;
	/** MODELFLEET_MAX_ARTIFACT_BYTES — default 2 GiB; larger uploads answer 413. */
	maxArtifactBytes: number;
	/** MODELFLEET_ARTIFACT_GC_INTERVAL_S — default 3600; 0 turns scheduled garbage collection off. */
	artifactGcIntervalS: number;
	/** MODELFLEET_ARTIFACT_GC_GRACE_S — default 3600; unreferenced blobs younger than this are kept (an upload may not be registered yet). */
	artifactGcGraceS: number;
	/** MODELFLEET_BOOTSTRAP_KEY — the owner key of the bootstrap tenant on first start; default: a random one, printed once. */
	bootstrapKey: string | null;
	/** MODELFLEET_KEY_SECRET — the secret API keys are hashed with (HMAC-SHA-256), the same on every control node; default: one generated into the metadata database on first start. */
	keySecret: string | null;
	/**
	 * MODELFLEET_FLEET_SECRET — what every node signs and verifies caller identities with
	 * (lib/accounts/fleet-trust.ts), the same on every node; required with TRANSPORTER. Default
	 * (one process): one generated into the data directory on first start.
	 */
	fleetSecret: string | null;
	/** MODELFLEET_API_KEY — the key `modelfleet repl` acts with (nodes ignore it); default none: `fleet login <key>`. */
	apiKey: string | null;
	/** MODELFLEET_MODEL_CACHE_BYTES — memory budget of loaded models; default null: half the node's memory. */
	modelCacheBytes: number | null;
	/** MODELFLEET_POOL_THREADS — worker threads for models run off the event loop; default cores − 1 (at least 1). */
	poolThreads: number | null;
	/**
	 * MODELFLEET_SERVING_THREADS — event loops an all-in-one node serves HTTP and predictions on:
	 * the main one and this many less one serving threads (nodes/serving-threads.ts), each with
	 * its own copy of the models it serves; default 1 (the main thread alone). Other roles: 1.
	 */
	servingThreads: number;
	/** MODELFLEET_MAX_ROWS_PER_REQUEST — default 100000; more answers 413. */
	maxRowsPerRequest: number;
	/** MODELFLEET_MAX_REQUEST_BYTES — default 64 MiB of tensor data; more answers 413. */
	maxRequestBytes: number;
	/** MODELFLEET_MAX_BODY_BYTES — default 64 MiB; a larger /v2 inference request body answers 413. */
	maxBodyBytes: number;
	/**
	 * MODELFLEET_COALESCE_MAX_ROWS (default 1024; 0 turns coalescing off),
	 * MODELFLEET_COALESCE_MAX_BYTES (default 4 MiB), MODELFLEET_COALESCE_WAIT_US (default 300),
	 * MODELFLEET_COALESCE_IN_FLIGHT (default 1) — how a gateway coalesces concurrent infer calls
	 * to one model version (lib/routing/infer-coalescing.ts); null when off.
	 */
	coalesce: CoalescerOptions | null;
	/**
	 * MODELFLEET_FORWARD_JSON_BYTES — default 1 MiB; a gateway hands JSON infer bodies up to this
	 * size to the worker unparsed (lib/http/infer-request.ts); 0 or off parses every body at the
	 * gateway.
	 */
	forwardJsonBytes: number;
	/** MODELFLEET_KEY_IN_FLIGHT_BYTES — default 128 MiB: buffered request-body bytes one API key (or address) may have in flight; more answers 429. */
	maxInFlightBytesPerKey: number;
	/** MODELFLEET_IN_FLIGHT_BYTES — default 512 MiB: buffered request-body bytes the gateway holds in flight in all; more answers 503. */
	maxInFlightBytes: number;
	/** MODELFLEET_BODY_IDLE_TIMEOUT_S — default 30: a request body that sends nothing this long answers 408 and is dropped. */
	bodyIdleTimeoutS: number;
	/** MODELFLEET_MAX_STREAMS_PER_KEY — default 16: open Server-Sent Event streams per API key; more answers 429. */
	maxEventStreamsPerKey: number;
	/** MODELFLEET_MAX_ARCHIVE_BYTES — default 512 MiB: bytes a model archive (TF.js tar) may unpack to; more answers 413. */
	maxArchiveBytes: number;
	/** MODELFLEET_MAX_ARCHIVE_ENTRIES — default 1000: entries a model archive may hold; more answers 413. */
	maxArchiveEntries: number;
	/** MODELFLEET_MAX_METRIC_SERIES — default 1000: model/version label sets per node in the inference metrics; more are counted under model="_overflow". */
	maxMetricSeries: number;
	/** MODELFLEET_MONITORING_INTERVAL_MS — default 10000: how often the acting scheduler closes drift and accuracy windows and scores health. */
	monitoringIntervalMs: number;
	/** MODELFLEET_CAPTURE_RETENTION_DAYS — default 30: days captured predictions, feedback and monitoring windows are kept. */
	captureRetentionDays: number;
	/** MODELFLEET_CAPTURE_FLUSH_MS — default 1000: how often a serving node sends its captured predictions. */
	captureFlushMs: number;
	/** MODELFLEET_CAPTURE_BUFFER — default 10000: captured predictions a serving node buffers before dropping new ones. */
	captureBuffer: number;
	/** MODELFLEET_MAX_JSON_DEPTH — default 64; JSON a client sends nested deeper answers 400 (lib/json-policy.ts). */
	maxJsonDepth: number;
	/** MODELFLEET_RATE_LIMIT — requests per API key (per address without one) per window; default 0: off. */
	rateLimit: number;
	/** MODELFLEET_RATE_LIMIT_WINDOW_MS — default 60000; the rate limit's window. */
	rateLimitWindowMs: number;
	/** MODELFLEET_USAGE_FLUSH_MS — default 10000: how often a node flushes its usage counts (the most a killed node loses). */
	usageFlushMs: number;
	/** MODELFLEET_USAGE_STORAGE_INTERVAL_S — default 3600: how often control nodes measure stored bytes per tenant; 0: never. */
	usageStorageIntervalS: number;
	/** MODELFLEET_QUOTA_SYNC_MS — default 1000: how often gateways reconcile their prediction counts for the rate quotas. */
	quotaSyncMs: number;
	/** Durable domain events and webhooks (docs/events.md). */
	events: EventsConfig;
	/** MODELFLEET_CPUS, MODELFLEET_MEMORY, MODELFLEET_GPUS — declared capacity; default detected. */
	declaredCapacity: DeclaredCapacity;
	/**
	 * MODELFLEET_ENCRYPTION_KEY (base64 of 32 bytes) or MODELFLEET_ENCRYPTION_KEY_FILE (a file
	 * holding it) — the master key of encryption at rest; default none: blobs are stored plain.
	 */
	encryptionKey: MasterKey | null;
	/** MODELFLEET_ENCRYPTION_KEY_NEW — the key `modelfleet rotate-key` re-wraps every blob to (nodes ignore it). */
	encryptionKeyNew: MasterKey | null;
	/**
	 * MODELFLEET_PLAINTEXT_DIR — where decrypted copies of blobs go for runtimes that open files by
	 * name; default `/dev/shm/modelfleet-<hash of the data dir>` (memory), else the OS temp dir.
	 */
	plaintextDir: string;
}

/** The master key of a base64 setting or of a file setting (one of the two), or null. */
function readMasterKey(
	read: EnvReader,
	name: string,
	text: string | null,
	fileName: string | null,
	fileText: string | null,
): MasterKey | null {
	if (text !== null && fileText !== null) {
		read.fail(name, `set either ${name} or ${fileName}, not both`);
		return null;
	}
	let source = text;
	if (fileText !== null && fileName !== null) {
		try {
			source = fs.readFileSync(fileText, "utf8");
		} catch (err) {
			read.fail(fileName, `cannot read "${fileText}": ${(err as Error).message}`);
			return null;
		}
	}
	if (source === null) return null;
	const key = MasterKey.parse(source);
	if (key === null)
		read.fail(fileText !== null && fileName ? fileName : name, `is not ${KEY_FORM}`);
	return key;
}

/** Memory-backed where the system has /dev/shm, so decrypted copies never reach a disk. */
function defaultPlaintextDir(dataDir: string): string {
	const tag = createHash("sha256").update(dataDir).digest("hex").slice(0, 12);
	const base = fs.existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir();
	return path.join(base, `modelfleet-${tag}`);
}

export type Environment = Readonly<Record<string, string | undefined>>;

export interface LoadOptions {
	/**
	 * Whether this process joins as a fleet node, which must hold the fleet secret; default true.
	 * The REPL joins the bus as a client: it never holds the secret, and ignores it if set.
	 */
	fleetNode?: boolean;
}

/**
 * Reads and validates a node's configuration. Every wrong variable is reported at once in an
 * InvalidConfigurationError; the result is frozen.
 */
export function loadNodeConfig(
	role: NodeRole,
	env: Environment,
	options: LoadOptions = {},
): Readonly<NodeConfig> {
	// Long because it is one flat table of settings read in order into one reader, so every wrong
	// one is reported at once; splitting it would scatter the table, not simplify it.
	const read = new EnvReader(env);

	const transporter = read.optionalString("TRANSPORTER");
	const nats = resolveNatsSettings(
		{
			transporter,
			credsFile: read.optionalString("MODELFLEET_NATS_CREDS"),
			nkeySeedFile: read.optionalString("MODELFLEET_NATS_NKEY_SEED"),
			tlsCaFile: read.optionalString("MODELFLEET_NATS_TLS_CA"),
			tlsCertFile: read.optionalString("MODELFLEET_NATS_TLS_CERT"),
			tlsKeyFile: read.optionalString("MODELFLEET_NATS_TLS_KEY"),
		},
		(setting, problem) => read.fail(setting, problem),
	);
	const redisUrl = read.optionalString("REDIS_URL");
	if (redisUrl !== null && !/^rediss?:\/\/\S+$/.test(redisUrl)) {
		read.fail("REDIS_URL", `"${redisUrl}" is not a redis:// or rediss:// URL`);
	}
	const keySecret = read.optionalString("MODELFLEET_KEY_SECRET");
	if (keySecret !== null && keySecret.length < 32) {
		read.fail(
			"MODELFLEET_KEY_SECRET",
			"must be at least 32 characters (e.g. `openssl rand -hex 32`)",
		);
	}
	const fleetSecret =
		options.fleetNode === false ? null : read.optionalString("MODELFLEET_FLEET_SECRET");
	if (fleetSecret !== null && fleetSecret.length < MIN_FLEET_SECRET_LENGTH) {
		read.fail(
			"MODELFLEET_FLEET_SECRET",
			`must be at least ${MIN_FLEET_SECRET_LENGTH} characters (e.g. \`openssl rand -hex 32\`)`,
		);
	}
	if (fleetSecret === null && transporter !== null && options.fleetNode !== false) {
		read.fail(
			"MODELFLEET_FLEET_SECRET",
			"is required with TRANSPORTER: every node of a fleet signs and verifies caller identities with the same secret (e.g. `openssl rand -hex 32`)",
		);
	}
	const databaseUrl = read.optionalString("DATABASE_URL");
	if (databaseUrl !== null && !/^postgres(ql)?:\/\/\S+$/.test(databaseUrl)) {
		read.fail("DATABASE_URL", "is not a postgres:// URL");
	} else if (databaseUrl !== null) {
		// sslmode and the certificate files it names are checked now, not at the first query.
		resolvePostgresConnection(databaseUrl, problem => read.fail("DATABASE_URL", problem));
	}
	// Only a node that serves HTTP reads these: a worker given the gateway's environment ignores them.
	const httpsTls = servesHttp(role)
		? checkCertificateAndKey(
				(setting, problem) => read.fail(setting, problem),
				{
					setting: "MODELFLEET_TLS_CERT",
					file: read.optionalString("MODELFLEET_TLS_CERT"),
				},
				{ setting: "MODELFLEET_TLS_KEY", file: read.optionalString("MODELFLEET_TLS_KEY") },
			)
		: null;

	const heartbeatIntervalS = read.number("MODELFLEET_HEARTBEAT_INTERVAL_S", 5, { min: 0.1 });
	const heartbeatTimeoutS = read.number("MODELFLEET_HEARTBEAT_TIMEOUT_S", 15, { min: 0.5 });
	if (heartbeatTimeoutS <= heartbeatIntervalS) {
		read.fail(
			"MODELFLEET_HEARTBEAT_TIMEOUT_S",
			`${heartbeatTimeoutS}s must be longer than the heartbeat interval (${heartbeatIntervalS}s); three intervals is usual`,
		);
	}

	const leaderLeaseMs = read.number("MODELFLEET_LEADER_LEASE_MS", 6000, {
		min: 200,
		integer: true,
	});
	const leaderRenewMs = read.number("MODELFLEET_LEADER_RENEW_MS", 1000, {
		min: 50,
		integer: true,
	});
	if (leaderRenewMs * 2 > leaderLeaseMs) {
		read.fail(
			"MODELFLEET_LEADER_RENEW_MS",
			`${leaderRenewMs} ms must be at most half the lease (MODELFLEET_LEADER_LEASE_MS, ${leaderLeaseMs} ms), so a slow round does not lose it`,
		);
	}

	const metricsText = read.raw("METRICS_PORT");
	const metricsPort =
		metricsText !== undefined && ["off", "false", "0"].includes(metricsText.toLowerCase())
			? null
			: read.number("METRICS_PORT", 3030, { min: 1, max: 65535, integer: true });

	const healthText = read.raw("MODELFLEET_HEALTH_PORT");
	const healthPort =
		healthText === undefined || ["off", "false", ""].includes(healthText.toLowerCase())
			? null
			: read.number("MODELFLEET_HEALTH_PORT", 0, { min: 0, max: 65535, integer: true });

	const grpcText = read.raw("MODELFLEET_GRPC_PORT");
	const grpcPort =
		!servesHttp(role) ||
		(grpcText !== undefined && ["off", "false", ""].includes(grpcText.toLowerCase()))
			? null
			: read.number("MODELFLEET_GRPC_PORT", 8001, { min: 0, max: 65535, integer: true });

	const gpus = parseDeclaredGpus(read.raw("MODELFLEET_GPUS"));
	if (gpus.kind === "error")
		read.fail("MODELFLEET_GPUS", `${gpus.problem} (${DECLARED_GPUS_FORM})`);
	const memoryText = read.raw("MODELFLEET_MEMORY");
	const declaredMemory = memoryText === undefined ? null : parseByteSize(memoryText);
	if (memoryText !== undefined && (declaredMemory === null || declaredMemory <= 0)) {
		read.fail(
			"MODELFLEET_MEMORY",
			`"${memoryText}" is not a size such as 17179869184 or 16GiB`,
		);
	}
	const cpusText = read.raw("MODELFLEET_CPUS");
	const sizeSetting = (name: string, fallback: number | null): number | null => {
		const text = read.raw(name);
		if (text === undefined) return fallback;
		const bytes = parseByteSize(text);
		if (bytes === null || bytes <= 0) {
			read.fail(name, `"${text}" is not a size such as 8GiB`);
			return fallback;
		}
		return bytes;
	};
	const poolText = read.raw("MODELFLEET_POOL_THREADS");
	const servingThreads = read.number("MODELFLEET_SERVING_THREADS", 1, {
		min: 1,
		max: 64,
		integer: true,
	});
	if (servingThreads > 1 && role !== "all-in-one") {
		read.fail(
			"MODELFLEET_SERVING_THREADS",
			`is for all-in-one nodes; a ${role} node serves on one thread (run more nodes instead)`,
		);
	} else if (servingThreads > 1 && transporter !== null) {
		read.fail(
			"MODELFLEET_SERVING_THREADS",
			"is for an all-in-one node on its own (no TRANSPORTER); in a fleet, run more gateway, worker or serving nodes instead",
		);
	}
	const maxArtifactText = read.raw("MODELFLEET_MAX_ARTIFACT_BYTES");
	const maxArtifactBytes =
		maxArtifactText === undefined ? 2 * 1024 ** 3 : parseByteSize(maxArtifactText);
	if (maxArtifactBytes === null || maxArtifactBytes <= 0) {
		read.fail(
			"MODELFLEET_MAX_ARTIFACT_BYTES",
			`"${maxArtifactText}" is not a size such as 2GiB`,
		);
	}

	const maxMessageBytes = sizeSetting("MODELFLEET_MAX_MESSAGE_BYTES", 256 * 1024 ** 2) ?? 0;
	const maxBodyBytes = sizeSetting("MODELFLEET_MAX_BODY_BYTES", 64 * 1024 ** 2) ?? 64 * 1024 ** 2;
	const maxInFlightBytesPerKey =
		sizeSetting("MODELFLEET_KEY_IN_FLIGHT_BYTES", 128 * 1024 ** 2) ?? 128 * 1024 ** 2;
	const maxInFlightBytes =
		sizeSetting("MODELFLEET_IN_FLIGHT_BYTES", 512 * 1024 ** 2) ?? 512 * 1024 ** 2;
	// A body the size limit allows must fit the budgets, or it would be refused for ever.
	if (maxInFlightBytesPerKey < maxBodyBytes)
		read.fail(
			"MODELFLEET_KEY_IN_FLIGHT_BYTES",
			`${maxInFlightBytesPerKey} bytes is less than MODELFLEET_MAX_BODY_BYTES (${maxBodyBytes}): one largest request could never be read`,
		);
	if (maxInFlightBytes < maxInFlightBytesPerKey)
		read.fail(
			"MODELFLEET_IN_FLIGHT_BYTES",
			`${maxInFlightBytes} bytes is less than MODELFLEET_KEY_IN_FLIGHT_BYTES (${maxInFlightBytesPerKey})`,
		);

	const coalesceRows = read.number("MODELFLEET_COALESCE_MAX_ROWS", 1024, {
		min: 0,
		integer: true,
	});
	const forwardJsonText = read.raw("MODELFLEET_FORWARD_JSON_BYTES");
	let forwardJsonBytes = 1024 ** 2;
	if (forwardJsonText !== undefined) {
		const bytes = ["0", "off"].includes(forwardJsonText.toLowerCase())
			? 0
			: parseByteSize(forwardJsonText);
		if (bytes === null || bytes < 0)
			read.fail(
				"MODELFLEET_FORWARD_JSON_BYTES",
				`"${forwardJsonText}" is not a size such as 1MiB, or 0/off`,
			);
		else forwardJsonBytes = bytes;
	}
	const coalesce: CoalescerOptions | null =
		coalesceRows === 0
			? null
			: {
					maxRows: coalesceRows,
					maxBytes:
						sizeSetting("MODELFLEET_COALESCE_MAX_BYTES", 4 * 1024 ** 2) ??
						4 * 1024 ** 2,
					maxWaitMicros: read.number("MODELFLEET_COALESCE_WAIT_US", 300, {
						min: 0,
						max: 1_000_000,
						integer: true,
					}),
					maxInFlight: read.number("MODELFLEET_COALESCE_IN_FLIGHT", 1, {
						min: 1,
						max: 1024,
						integer: true,
					}),
				};

	const encryptionKey = readMasterKey(
		read,
		"MODELFLEET_ENCRYPTION_KEY",
		read.optionalString("MODELFLEET_ENCRYPTION_KEY"),
		"MODELFLEET_ENCRYPTION_KEY_FILE",
		read.optionalString("MODELFLEET_ENCRYPTION_KEY_FILE"),
	);
	const encryptionKeyNew = readMasterKey(
		read,
		"MODELFLEET_ENCRYPTION_KEY_NEW",
		read.optionalString("MODELFLEET_ENCRYPTION_KEY_NEW"),
		null,
		null,
	);
	const dataDir = path.resolve(read.string("MODELFLEET_DATA_DIR", "./data"));
	const plaintextText = read.optionalString("MODELFLEET_PLAINTEXT_DIR");
	const plaintextDir =
		plaintextText === null ? defaultPlaintextDir(dataDir) : path.resolve(plaintextText);
	if (encryptionKey !== null && isInside(plaintextDir, dataDir)) {
		read.fail(
			"MODELFLEET_PLAINTEXT_DIR",
			`"${plaintextDir}" is inside the data directory, whose files must stay encrypted; use a memory-backed folder such as /dev/shm/modelfleet`,
		);
	}

	const namespace = read.string("MODELFLEET_NAMESPACE", "modelfleet");
	const artifacts = readArtifactsSetting(read, { role, namespace, nats });

	const config: NodeConfig = {
		role,
		nodeID: read.optionalString("MODELFLEET_NODE_ID"),
		namespace,
		transporter,
		nats,
		redisUrl,
		databaseUrl,
		httpsTls,
		host: read.string("HOST", "0.0.0.0"),
		port: read.number("PORT", 3000, { min: 0, max: 65535, integer: true }),
		dataDir,
		logLevel: read.oneOf("LOG_LEVEL", LOG_LEVELS, "info"),
		observability: readObservabilitySettings(read),
		requestTimeoutMs: read.number("MODELFLEET_REQUEST_TIMEOUT_MS", 30_000, {
			min: 0,
			integer: true,
		}),
		retries: read.number("MODELFLEET_RETRIES", 3, { min: 0, max: 10, integer: true }),
		heartbeatIntervalS,
		heartbeatTimeoutS,
		statusIntervalMs: read.number("MODELFLEET_STATUS_INTERVAL_MS", heartbeatIntervalS * 1000, {
			min: 100,
			integer: true,
		}),
		trainerSlots: read.number("MODELFLEET_TRAINER_SLOTS", 1, {
			min: 1,
			max: 64,
			integer: true,
		}),
		trainingBackend: read.oneOf(
			"MODELFLEET_TRAINING_BACKEND",
			["auto", "wasm", "cpu", "tensorflow"],
			"auto",
		),
		optimizationSweepMs: read.number("MODELFLEET_OPTIMIZATION_SWEEP_MS", 300, {
			min: 10,
			max: 600_000,
			integer: true,
		}),
		reconcileIntervalMs: read.number("MODELFLEET_RECONCILE_INTERVAL_MS", 1000, {
			min: 50,
			integer: true,
		}),
		leaderLeaseMs,
		leaderRenewMs,
		controlOutageS: read.number("MODELFLEET_CONTROL_OUTAGE_S", 3600, { min: 0 }),
		controlWaitMs: read.number("MODELFLEET_CONTROL_WAIT_MS", 0, {
			min: 0,
			max: 60_000,
			integer: true,
		}),
		accountsCacheMs: read.number("MODELFLEET_ACCOUNTS_CACHE_MS", 10_000, {
			min: 100,
			max: 3_600_000,
			integer: true,
		}),
		shutdownTimeoutMs: read.number("MODELFLEET_SHUTDOWN_TIMEOUT_MS", 10_000, {
			min: 0,
			integer: true,
		}),
		circuitBreaker: read.boolean("MODELFLEET_CIRCUIT_BREAKER", true),
		gcExternalMemoryInHeapLimit: read.boolean("MODELFLEET_GC_EXTERNAL_IN_HEAP_LIMIT", true),
		gcYoungBufferMiB: read.number("MODELFLEET_GC_YOUNG_BUFFERS_MIB", 32, {
			min: 0,
			max: 1024,
			integer: true,
		}),
		gcHeapGrowthPercent: read.number("MODELFLEET_GC_HEAP_GROWTH_PERCENT", 200, {
			min: 0,
			max: 1000,
			integer: true,
		}),
		maxMessageBytes,
		directLinks: nats !== null ? readDirectLinkSettings(read, nats.tls !== null) : null,
		lostNodeProbeMs: read.number("MODELFLEET_LOST_NODE_PROBE_MS", 100, {
			min: 0,
			max: 60_000,
			integer: true,
		}),
		metricsPort,
		healthPort,
		grpcPort,
		nodeForgetS: read.number("MODELFLEET_NODE_FORGET_S", 3600, { min: 0 }),
		artifacts,
		maxArtifactBytes: maxArtifactBytes ?? 0,
		artifactGcIntervalS: read.number("MODELFLEET_ARTIFACT_GC_INTERVAL_S", 3600, { min: 0 }),
		artifactGcGraceS: read.number("MODELFLEET_ARTIFACT_GC_GRACE_S", 3600, { min: 0 }),
		bootstrapKey: read.optionalString("MODELFLEET_BOOTSTRAP_KEY"),
		keySecret,
		fleetSecret,
		apiKey: read.optionalString("MODELFLEET_API_KEY"),
		modelCacheBytes: sizeSetting("MODELFLEET_MODEL_CACHE_BYTES", null),
		poolThreads:
			poolText === undefined
				? null
				: read.number("MODELFLEET_POOL_THREADS", 1, { min: 1, max: 256, integer: true }),
		servingThreads,
		maxRowsPerRequest: read.number("MODELFLEET_MAX_ROWS_PER_REQUEST", 100_000, {
			min: 1,
			integer: true,
		}),
		maxRequestBytes:
			sizeSetting("MODELFLEET_MAX_REQUEST_BYTES", 64 * 1024 ** 2) ?? 64 * 1024 ** 2,
		maxBodyBytes,
		coalesce,
		forwardJsonBytes,
		maxInFlightBytesPerKey,
		maxInFlightBytes,
		bodyIdleTimeoutS: read.number("MODELFLEET_BODY_IDLE_TIMEOUT_S", 30, { min: 0.1 }),
		maxEventStreamsPerKey: read.number("MODELFLEET_MAX_STREAMS_PER_KEY", 16, {
			min: 1,
			integer: true,
		}),
		maxArchiveBytes:
			sizeSetting("MODELFLEET_MAX_ARCHIVE_BYTES", 512 * 1024 ** 2) ?? 512 * 1024 ** 2,
		maxArchiveEntries: read.number("MODELFLEET_MAX_ARCHIVE_ENTRIES", 1000, {
			min: 1,
			integer: true,
		}),
		maxJsonDepth: read.number("MODELFLEET_MAX_JSON_DEPTH", DEFAULT_MAX_JSON_DEPTH, {
			min: 1,
			max: MAX_JSON_DEPTH_SETTING,
			integer: true,
		}),
		maxMetricSeries: read.number("MODELFLEET_MAX_METRIC_SERIES", 1000, {
			min: 1,
			integer: true,
		}),
		monitoringIntervalMs: read.number("MODELFLEET_MONITORING_INTERVAL_MS", 10_000, {
			min: 50,
			integer: true,
		}),
		captureRetentionDays: read.number("MODELFLEET_CAPTURE_RETENTION_DAYS", 30, {
			min: 1,
			integer: true,
		}),
		captureFlushMs: read.number("MODELFLEET_CAPTURE_FLUSH_MS", 1000, {
			min: 10,
			integer: true,
		}),
		captureBuffer: read.number("MODELFLEET_CAPTURE_BUFFER", 10_000, { min: 1, integer: true }),
		rateLimit: read.number("MODELFLEET_RATE_LIMIT", 0, { min: 0, integer: true }),
		rateLimitWindowMs: read.number("MODELFLEET_RATE_LIMIT_WINDOW_MS", 60_000, {
			min: 1,
			integer: true,
		}),
		usageFlushMs: read.number("MODELFLEET_USAGE_FLUSH_MS", 10_000, { min: 100, integer: true }),
		usageStorageIntervalS: read.number("MODELFLEET_USAGE_STORAGE_INTERVAL_S", 3600, {
			min: 0,
			integer: true,
		}),
		quotaSyncMs: read.number("MODELFLEET_QUOTA_SYNC_MS", 1000, { min: 50, integer: true }),
		events: {
			retentionS: read.number("MODELFLEET_EVENTS_RETENTION_S", 7 * 24 * 3600, { min: 60 }),
			predictionSummaryS: read.number("MODELFLEET_PREDICTION_EVENTS_INTERVAL_S", 60, {
				min: 0.1,
			}),
			streamPollMs: read.number("MODELFLEET_EVENTS_STREAM_POLL_MS", 1000, {
				min: 10,
				integer: true,
			}),
			webhookRetryBaseMs: read.number("MODELFLEET_WEBHOOK_RETRY_BASE_MS", 5000, {
				min: 1,
				integer: true,
			}),
			webhookRetryMaxMs: read.number("MODELFLEET_WEBHOOK_RETRY_MAX_MS", 3_600_000, {
				min: 1,
				integer: true,
			}),
			webhookRetryForS: read.number("MODELFLEET_WEBHOOK_RETRY_FOR_S", 24 * 3600, { min: 0 }),
			webhookTimeoutMs: read.number("MODELFLEET_WEBHOOK_TIMEOUT_MS", 10_000, {
				min: 1,
				integer: true,
			}),
			webhookPollMs: read.number("MODELFLEET_WEBHOOK_POLL_MS", 1000, {
				min: 10,
				integer: true,
			}),
			webhookAllowPrivate: read.boolean("MODELFLEET_WEBHOOK_ALLOW_PRIVATE", false),
		},
		declaredCapacity: {
			cpus: cpusText === undefined ? null : read.number("MODELFLEET_CPUS", 1, { min: 0.1 }),
			memoryBytes: declaredMemory,
			gpus: gpus.kind === "declared" ? gpus.gpus : null,
		},
		encryptionKey,
		encryptionKeyNew,
		plaintextDir,
	};

	if (read.problems.length > 0) throw new InvalidConfigurationError(read.problems);
	return Object.freeze(config);
}

function isInside(child: string, parent: string): boolean {
	const relative = path.relative(parent, child);
	return relative === "" || (!relative.startsWith("..") && !path.isAbsolute(relative));
}
