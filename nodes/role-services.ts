import * as fs from "node:fs";
import * as path from "node:path";
import type { ServiceBroker, ServiceSchema } from "moleculer";
import type { LocalBlobsOptions } from "../lib/artifacts/local-blobs";
import type { FleetTrust } from "../lib/accounts/fleet-trust";
import { ArtifactOwnerStore } from "../lib/artifacts/artifact-owners";
import { modelMemoryBudget } from "../lib/capacity/model-memory";
import type { NodeCapacity } from "../lib/capacity/node-capacity";
import type { NodeConfig } from "../lib/config/node-config";
import type { Database } from "../lib/db/database";
import type { InFlightCounter } from "../lib/fleet/in-flight";
import type { ArchiveLimits } from "../lib/files/tar-files";
import {
	GATEWAY_DEPENDENCIES,
	ROLE_SERVICES,
	SERVICE,
	type ServiceName,
} from "../lib/fleet/node-role";
import { LeaderLease } from "../lib/scheduler/leader-lease";
import { accountsService } from "../services/accounts.service";
import { agentService } from "../services/agent.service";
import { artifactsService } from "../services/artifacts.service";
import { apiService } from "../services/api.service";
import { eventsService } from "../services/events.service";
import { eventStreamNames } from "../lib/domain-events/jetstream-event-log";
import { predictorService } from "../services/predictor.service";
import { registryService } from "../services/registry.service";
import { schedulerService } from "../services/scheduler.service";
import { trainerService } from "../services/trainer.service";

/** What a service factory may need from the node that runs it. */
export interface NodeContext {
	config: Readonly<NodeConfig>;
	capacity: NodeCapacity;
	inFlight: InFlightCounter;
	/** The metadata database, on roles that keep it. */
	database: Database | null;
	broker: ServiceBroker;
	/** Where the node prints what an operator must see once (the bootstrap key). */
	print: (line: string) => void;
	/** Signs the identities this node vouches for (keys it authenticated, tenants it acts for). */
	trust: FleetTrust;
	/** The gateway shares its port with the node's serving threads (nodes/serving-threads.ts). */
	reusePort?: boolean;
	/** Services the gateway waits to see before it listens (a serving thread's: the control plane's). */
	listenAfter?: readonly ServiceName[];
}

/** The archive limits of the node's settings, for importers and runtimes alike. */
function archiveLimitsOf(config: Readonly<NodeConfig>): ArchiveLimits {
	return { maxBytes: config.maxArchiveBytes, maxEntries: config.maxArchiveEntries };
}

/** The one lease per node, shared by the services that act only as leader (scheduler, artifact GC). */
const leases = new WeakMap<ServiceBroker, LeaderLease>();

/** The control plane's leadership lease of this node (lib/scheduler/leader-lease.ts). */
function leaseOf(node: NodeContext): LeaderLease {
	let lease = leases.get(node.broker);
	if (!lease) {
		lease = new LeaderLease({
			db: requireDatabase(node).db,
			name: "control",
			nodeID: node.broker.nodeID,
			instanceID: node.broker.instanceID,
			ttlMs: node.config.leaderLeaseMs,
			renewMs: node.config.leaderRenewMs,
		});
		leases.set(node.broker, lease);
	}
	return lease;
}

function requireDatabase(node: NodeContext): Database {
	if (!node.database) throw new Error(`The ${node.config.role} role has no database`);
	return node.database;
}

/** How a service reading blobs opens sealed ones: the key, and its own folder for decrypted copies. */
function blobsOf(node: NodeContext, service: ServiceName): LocalBlobsOptions {
	return {
		encryptionKey: node.config.encryptionKey,
		plaintextDir: path.join(node.config.plaintextDir, service),
	};
}

const FACTORIES: Record<ServiceName, (node: NodeContext) => ServiceSchema> = {
	agent: node =>
		agentService({
			capacity: node.capacity,
			inFlight: node.inFlight,
			statusIntervalMs: node.config.statusIntervalMs,
			nodeForgetMs: node.config.nodeForgetS * 1000,
		}),
	api: node =>
		apiService({
			trust: node.trust,
			// The data plane outlives the control plane: keys and versions from what it knows.
			controlOutageMs: node.config.controlOutageS * 1000,
			controlWaitMs: node.config.controlWaitMs,
			accountsCacheMs: node.config.accountsCacheMs,
			host: node.config.host,
			port: node.config.port,
			reusePort: node.reusePort === true,
			listenAfter: node.listenAfter ?? [],
			https: node.config.httpsTls && {
				cert: fs.readFileSync(node.config.httpsTls.certFile),
				key: fs.readFileSync(node.config.httpsTls.keyFile),
			},
			// A gateway needs the services it calls; all-in-one also needs all of its own.
			neededServices: [
				...new Set([...GATEWAY_DEPENDENCIES, ...ROLE_SERVICES[node.config.role]]),
			],
			maxBodyBytes: node.config.maxBodyBytes,
			grpcPort: node.config.grpcPort,
			maxJsonDepth: node.config.maxJsonDepth,
			// Coalescing saves transporter messages; a node with its own predictor sends none.
			coalesce: ROLE_SERVICES[node.config.role].includes(SERVICE.predictor)
				? null
				: node.config.coalesce,
			// A gateway hands small JSON infer bodies to the worker as they came, for it to parse:
			// parsing them here only to encode them again for the bus is the gateway's work doubled.
			forwardJsonUpTo:
				ROLE_SERVICES[node.config.role].includes(SERVICE.predictor) ||
				node.config.forwardJsonBytes === 0
					? null
					: node.config.forwardJsonBytes,
			maxDatasetBytes: node.config.maxArtifactBytes,
			spillDir: path.join(node.config.dataDir, "spill"),
			maxUploadBytes: node.config.maxArtifactBytes,
			inFlightBytes: {
				perKey: node.config.maxInFlightBytesPerKey,
				total: node.config.maxInFlightBytes,
			},
			bodyIdleTimeoutMs: node.config.bodyIdleTimeoutS * 1000,
			maxStreamsPerKey: node.config.maxEventStreamsPerKey,
			eventsPollMs: node.config.events.streamPollMs,
			sealSpills: node.config.encryptionKey !== null,
			rateLimit: {
				limit: node.config.rateLimit,
				windowMs: node.config.rateLimitWindowMs,
				redisUrl: node.config.redisUrl,
				keyPrefix: `${node.config.namespace}:ratelimit:`,
			},
			predictionQuota: {
				syncMs: node.config.quotaSyncMs,
				keyPrefix: `${node.config.namespace}:quota:`,
			},
		}),
	accounts: node =>
		accountsService({
			database: requireDatabase(node),
			bootstrapKey: node.config.bootstrapKey,
			keySecret: node.config.keySecret,
			print: node.print,
			trust: node.trust,
			usageStorageIntervalMs: node.config.usageStorageIntervalS * 1000,
		}),
	registry: node =>
		registryService({
			database: requireDatabase(node),
			dataDir: node.config.dataDir,
			archiveLimits: archiveLimitsOf(node.config),
			blobs: blobsOf(node, SERVICE.registry),
		}),
	artifacts: node =>
		artifactsService({
			dataDir: node.config.dataDir,
			maxArtifactBytes: node.config.maxArtifactBytes,
			backend: node.config.artifacts,
			artifactGcIntervalS: node.config.artifactGcIntervalS,
			artifactGcGraceS: node.config.artifactGcGraceS,
			encryptionKey: node.config.encryptionKey,
			// GC keeps what versions, datasets (registry) and job checkpoints (scheduler) reference.
			referencedArtifacts: async () => {
				const [registered, checkpoints] = await Promise.all([
					node.broker.call<string[]>(`${SERVICE.registry}.referencedArtifacts`),
					node.broker.call<string[]>(`${SERVICE.scheduler}.referencedArtifacts`),
				]);
				return [...registered, ...checkpoints];
			},
			// Which tenant may name which blob: kept next to the metadata.
			owners: new ArtifactOwnerStore(requireDatabase(node).db),
			// A store every control node shares is collected by the leader only, fenced by its lease.
			leadership: leaseOf(node),
		}),
	predictor: node =>
		predictorService({
			dataDir: node.config.dataDir,
			blobs: blobsOf(node, SERVICE.predictor),
			cacheBytes: modelMemoryBudget(node.config.modelCacheBytes, node.capacity),
			poolThreads: node.config.poolThreads ?? Math.max(1, Math.floor(node.capacity.cpus) - 1),
			limits: {
				maxRowsPerRequest: node.config.maxRowsPerRequest,
				maxRequestBytes: node.config.maxRequestBytes,
			},
			// CUDA first where this node advertises it for ONNX; CPU always works.
			executionProviders: node.capacity.runtimes
				.find(r => r.name === "onnx")
				?.executionProviders.includes("cuda")
				? ["cuda", "cpu"]
				: ["cpu"],
			defaultTimeoutMs: node.config.requestTimeoutMs,
			maxJsonDepth: node.config.maxJsonDepth,
			archiveLimits: archiveLimitsOf(node.config),
			maxMetricSeries: node.config.maxMetricSeries,
			usageFlushMs: node.config.usageFlushMs,
			controlOutageMs: node.config.controlOutageS * 1000,
			captureFlushMs: node.config.captureFlushMs,
			captureBuffer: node.config.captureBuffer,
			predictionSummaryMs: node.config.events.predictionSummaryS * 1000,
		}),
	trainer: node =>
		trainerService({
			dataDir: node.config.dataDir,
			blobs: blobsOf(node, SERVICE.trainer),
			slots: node.config.trainerSlots,
			backend: node.config.trainingBackend,
			optimizationSweepMs: node.config.optimizationSweepMs,
			trust: node.trust,
			usageFlushMs: node.config.usageFlushMs,
		}),
	events: node =>
		eventsService({
			database: requireDatabase(node),
			// A fleet keeps its events on JetStream, an all-in-one node in its database.
			jetstream: node.config.nats ? eventStreamNames(node.config.namespace) : null,
			retentionS: node.config.events.retentionS,
			webhooks: {
				retry: {
					baseMs: node.config.events.webhookRetryBaseMs,
					maxMs: node.config.events.webhookRetryMaxMs,
					retryForMs: node.config.events.webhookRetryForS * 1000,
				},
				timeoutMs: node.config.events.webhookTimeoutMs,
				allowPrivate: node.config.events.webhookAllowPrivate,
				pollMs: node.config.events.webhookPollMs,
			},
		}),
	scheduler: node =>
		schedulerService({
			heartbeatTimeoutMs: node.config.heartbeatTimeoutS * 1000,
			database: requireDatabase(node),
			reconcileIntervalMs: node.config.reconcileIntervalMs,
			trust: node.trust,
			lease: leaseOf(node),
			monitoringIntervalMs: node.config.monitoringIntervalMs,
			captureRetentionDays: node.config.captureRetentionDays,
		}),
};

/** The service schemas a node of the configured role runs. */
export function createRoleServices(node: NodeContext): ServiceSchema[] {
	return ROLE_SERVICES[node.config.role].map(name => FACTORIES[name](node));
}
