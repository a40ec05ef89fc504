/**
 * Broker options for every node, built from the node's configuration (lib/config/node-config.ts,
 * where each setting is read from the environment). Each choice says why it is what it is.
 */
import * as os from "node:os";
import type { BrokerOptions, Middleware, Transporters } from "moleculer";
import type { NodeConfig } from "./lib/config/node-config";
import { GuardedCborSerializer } from "./lib/fleet/guarded-serializer";
import type { NatsRefusedError } from "./lib/errors";
import { SERVICE } from "./lib/fleet/node-role";
import { ChunkedNatsTransporter } from "./lib/fleet/chunked-nats-transporter";
import { linkKey } from "./lib/fleet/link-handshake";
import { natsConnectOptions } from "./lib/fleet/nats-connect-options";
import { durableEventsMiddlewares } from "./lib/domain-events/durable-events-middleware";
import { ALIVE_PROBE_METADATA_KEY, lostNodeDetector } from "./lib/fleet/lost-node-detector";
import { registerRoutingStrategies } from "./lib/routing/model-replica-strategy";
import { trafficMiddleware } from "./lib/routing/traffic-middleware";
import { jsonLogFormatter, logContextMiddleware } from "./lib/observability/log-context";
import { tracingOptions } from "./lib/observability/tracing";
import { NullAbsentValidator } from "./lib/validation/null-absent-validator";

// `predictor.infer` names the ModelReplica strategy; every node must know it to route there.
registerRoutingStrategies();

export interface BrokerExtras {
	/** Static description of this node (role, capacity), seen by every other node. */
	metadata?: Record<string, unknown>;
	middlewares?: Middleware[];
	/** The NATS server refused the node's credentials or TLS; default: log and exit with 1. */
	onNatsRefused?: (err: NatsRefusedError) => void;
	/** The threads of one all-in-one node: their transporter (lib/fleet/thread-port-transporter.ts). */
	transporter?: Transporters.Base;
}

export function createBrokerOptions(config: NodeConfig, extras: BrokerExtras = {}): BrokerOptions {
	const { logFormat, tracing } = config.observability;
	return {
		namespace: config.namespace,
		nodeID: config.nodeID,
		// LOG_FORMAT=json: one JSON object a line with the request's ids, tenant and node
		// (lib/observability/log-context.ts), for log shippers; text for people.
		logger: {
			type: "Console",
			options: {
				level: config.logLevel,
				formatter: logFormat === "json" ? jsonLogFormatter : "short",
				colors: logFormat === "text" && process.stdout.isTTY === true,
			},
		},

		// Off without an OTLP endpoint: no tracer middleware, nothing on the call path. With one,
		// every action's span goes to OpenTelemetry (lib/observability/tracing.ts); the trace
		// ids travel between nodes with each call, so one request is one trace.
		...(tracing
			? {
					tracing: tracingOptions(tracing, {
						role: config.role,
						// Moleculer's own default node id when none is set.
						nodeID: config.nodeID ?? `${os.hostname().toLowerCase()}-${process.pid}`,
						namespace: config.namespace,
					}),
				}
			: {}),

		// No transporter: one process, no network (an all-in-one node's serving threads have their
		// own, extras.transporter). NATS between machines (the TCP transporter
		// listens everywhere and finds peers by multicast), with messages over the server's payload
		// limit sent in chunks, so a request of any size the gateway takes crosses the fleet.
		// With credentials and TLS when the settings give them; a server that refuses them ends
		// the node's start (extras.onNatsRefused) instead of being retried forever.
		transporter:
			extras.transporter ??
			(config.nats
				? new ChunkedNatsTransporter({
						...natsConnectOptions(config.nats),
						...(extras.onNatsRefused ? { onRefused: extras.onNatsRefused } : {}),
						assembly: {
							maxMessageBytes: config.maxMessageBytes,
							maxPendingBytes: 2 * config.maxMessageBytes,
							staleAfterMs: Math.max(30_000, config.requestTimeoutMs),
						},
						answerProbes: true,
						// Requests and responses between nodes over direct TCP links, skipping the NATS
						// server's two hops (lib/fleet/direct-links.ts); proved with the fleet secret.
						...(config.directLinks !== null && config.fleetSecret !== null
							? {
									directLinks: {
										settings: config.directLinks,
										key: linkKey(config.fleetSecret),
									},
								}
							: {}),
					})
				: null),

		// CBOR (cbor-x) writes typed arrays as tagged bytes, so tensors cross the transporter as
		// bytes and arrive as the same typed array — never as JSON number arrays. Guarded: a
		// message nested past the stack is refused as a client error (400), never an overflow.
		serializer: new GuardedCborSerializer(config.maxJsonDepth),

		// Shared across the fleet when Redis is there, so gateways agree; memory otherwise.
		cacher: config.redisUrl
			? {
					type: "Redis",
					options: {
						// The cacher hands this to ioredis, which takes a URL; the typings only say object.
						redis: config.redisUrl as unknown as Record<string, unknown>,
						prefix: `MF-${config.namespace}`,
						ttl: 60,
					},
				}
			: { type: "Memory", options: { ttl: 60 } },

		// Moleculer's fastest-validator, after which an optional parameter sent as null is deleted:
		// null is absent for every action and event (lib/validation/null-absent-validator.ts).
		validator: new NullAbsentValidator(),

		// A call that hangs holds a client and a slot: fail it after a bounded wait.
		requestTimeout: config.requestTimeoutMs,

		// Off by default: a retried non-idempotent call (create, train) could run twice. Actions that
		// are safe to repeat (reads, infer) turn it on with `retryPolicy: { enabled: true }`.
		retryPolicy: {
			enabled: false,
			retries: config.retries,
			delay: 100,
			maxDelay: 2000,
			factor: 2,
			check: (err: Error) => (err as Error & { retryable?: boolean }).retryable === true,
		},

		// Stop sending to an endpoint whose calls mostly fail, so one sick node cannot slow the fleet.
		// Client mistakes (4xx) do not count against an endpoint.
		circuitBreaker: {
			enabled: config.circuitBreaker,
			threshold: 0.5,
			minRequestCount: 20,
			windowTime: 60,
			halfOpenTime: 10_000,
			check: (err: Error) => ((err as Error & { code?: number }).code ?? 500) >= 500,
		},

		// A lost node is noticed within the timeout; three missed beats tolerates a GC pause.
		heartbeatInterval: config.heartbeatIntervalS,
		heartbeatTimeout: config.heartbeatTimeoutS,

		// Graceful shutdown: in-flight calls finish (up to the timeout) before the node leaves.
		tracking: { enabled: true, shutdownTimeout: config.shutdownTimeoutMs },

		// Predictions use the ModelReplica strategy (lib/routing), named on their action.
		// Lost nodes are forgotten after MODELFLEET_NODE_FORGET_S by the agent (services/agent.service.ts),
		// not after Moleculer's own fixed 10 minutes.
		registry: {
			strategy: "RoundRobin",
			preferLocal: true,
			discoverer: { type: "Local", options: { disableOfflineNodeRemoving: true } },
		},

		// Off: the node's metrics are prom-client registries (lib/metrics/node-metrics.ts) served on
		// METRICS_PORT and MODELFLEET_HEALTH_PORT; docs/operations.md says why not Moleculer's.
		metrics: { enabled: false },

		// Signals are handled by nodes/start-node.ts, which logs, drains and sets the exit code.
		skipProcessEventRegistration: true,

		// Nodes of a fleet answer "are you there?" on NATS, so callers notice a killed one at once.
		metadata: {
			...extras.metadata,
			...(config.nats ? { [ALIVE_PROBE_METADATA_KEY]: true } : {}),
		},
		middlewares: [
			// Traffic splits and shadows of deployments are decided where a prediction call starts.
			trafficMiddleware(`${SERVICE.predictor}.infer`, `${SERVICE.predictor}.inferMany`),
			// A call waiting on a vanished node is rejected (and retried, if idempotent) in
			// milliseconds, not after the heartbeat timeout.
			lostNodeDetector({ suspectAfterMs: config.lostNodeProbeMs }),
			// A fleet's domain events are written to NATS JetStream (docs/events.md).
			...(config.nats
				? durableEventsMiddlewares({
						namespace: config.namespace,
						retentionS: config.events.retentionS,
						...natsConnectOptions(config.nats),
					})
				: []),
			// The request's ids and tenant on every JSON log line a call writes.
			...(logFormat === "json" ? [logContextMiddleware()] : []),
			...(extras.middlewares ?? []),
		],
	};
}
