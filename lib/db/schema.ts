/**
 * The one metadata schema, for PostgreSQL and PGlite alike (drizzle pg-core). The SQL that
 * creates it is in migrations/; a test checks that both agree.
 */
import { sql } from "drizzle-orm";
import {
	bigint,
	bigserial,
	boolean,
	customType,
	index,
	integer,
	jsonb,
	pgTable,
	primaryKey,
	text,
	timestamp,
	unique,
	uniqueIndex,
	uuid,
} from "drizzle-orm/pg-core";

/** Bytes (bytea), as a Buffer both ways: both drivers send a Buffer parameter as binary. */
const bytea = customType<{ data: Buffer; driverData: Buffer }>({
	dataType: () => "bytea",
});

const createdAt = () => timestamp("created_at", { withTimezone: true }).notNull().defaultNow();

export const tenants = pgTable("tenants", {
	id: uuid("id").primaryKey(),
	name: text("name").notNull().unique(),
	/** Owners of an admin tenant may create other tenants (the bootstrap tenant is one). */
	isAdmin: boolean("is_admin").notNull().default(false),
	createdAt: createdAt(),
});

export const apiKeys = pgTable("api_keys", {
	id: uuid("id").primaryKey(),
	tenantId: uuid("tenant_id")
		.notNull()
		.references(() => tenants.id, { onDelete: "cascade" }),
	name: text("name").notNull(),
	/** A few first characters of the key (lib/accounts/api-key.ts), shown in listings so people can tell keys apart. */
	prefix: text("prefix").notNull(),
	/**
	 * `hmac-sha256:<hex>` of the whole key under the installation's key secret; rows from before
	 * 0005 hold a plain sha256, rewritten on the key's first use. The key itself is never stored.
	 */
	hash: text("hash").notNull().unique(),
	role: text("role").notNull(),
	createdAt: createdAt(),
	expiresAt: timestamp("expires_at", { withTimezone: true }),
	revokedAt: timestamp("revoked_at", { withTimezone: true }),
});

export const models = pgTable(
	"models",
	{
		id: uuid("id").primaryKey(),
		tenantId: uuid("tenant_id")
			.notNull()
			.references(() => tenants.id, { onDelete: "cascade" }),
		name: text("name").notNull(),
		description: text("description").notNull().default(""),
		task: text("task").notNull(),
		framework: text("framework").notNull(),
		tags: jsonb("tags")
			.$type<Record<string, string>>()
			.notNull()
			.default(sql`'{}'::jsonb`),
		createdAt: createdAt(),
		updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
	},
	table => [unique("models_tenant_name").on(table.tenantId, table.name)],
);

export const modelVersions = pgTable(
	"model_versions",
	{
		id: uuid("id").primaryKey(),
		/** Insertion order: the cursor of version listings. */
		seq: bigserial("seq", { mode: "number" }).notNull(),
		tenantId: uuid("tenant_id").notNull(),
		modelId: uuid("model_id")
			.notNull()
			.references(() => models.id, { onDelete: "cascade" }),
		version: text("version").notNull(),
		state: text("state").notNull(),
		format: text("format").notNull(),
		artifactSha256: text("artifact_sha256"),
		artifactSize: bigint("artifact_size", { mode: "number" }),
		description: text("description").notNull().default(""),
		schema: jsonb("schema").notNull(),
		pipeline: jsonb("pipeline").notNull(),
		labels: jsonb("labels"),
		metrics: jsonb("metrics").notNull(),
		lineage: jsonb("lineage").notNull(),
		resources: jsonb("resources").notNull(),
		/** What the importer read from the file (objective, opset, …). */
		details: jsonb("details").notNull(),
		/** How the predictor serves it (batching); operational, so it may change. */
		serving: jsonb("serving")
			.notNull()
			.default(sql`'{}'::jsonb`),
		/** The idempotency key it was created with (lib/model-spec/version-idempotency.ts), if any. */
		idempotencyKey: text("idempotency_key"),
		/** The fingerprint of the request that key came with; set exactly when the key is. */
		idempotencyFingerprint: text("idempotency_fingerprint"),
		createdAt: createdAt(),
		updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
	},
	table => [
		unique("model_versions_model_version").on(table.modelId, table.version),
		uniqueIndex("model_versions_idempotency_key")
			.on(table.tenantId, table.modelId, table.idempotencyKey)
			.where(sql`${table.idempotencyKey} IS NOT NULL`),
	],
);

export const modelAliases = pgTable(
	"model_aliases",
	{
		tenantId: uuid("tenant_id").notNull(),
		modelId: uuid("model_id")
			.notNull()
			.references(() => models.id, { onDelete: "cascade" }),
		alias: text("alias").notNull(),
		versionId: uuid("version_id")
			.notNull()
			.references(() => modelVersions.id, { onDelete: "cascade" }),
		updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
	},
	table => [primaryKey({ columns: [table.modelId, table.alias] })],
);

export const auditLog = pgTable("audit_log", {
	id: bigserial("id", { mode: "number" }).primaryKey(),
	tenantId: uuid("tenant_id"),
	keyId: uuid("key_id"),
	action: text("action").notNull(),
	target: text("target").notNull(),
	outcome: text("outcome").notNull(),
	detail: jsonb("detail"),
	at: timestamp("at", { withTimezone: true }).notNull().defaultNow(),
});

/** A model served by the fleet: how many replicas, with what, and which versions get traffic. */
export const deployments = pgTable(
	"deployments",
	{
		id: uuid("id").primaryKey(),
		tenantId: uuid("tenant_id")
			.notNull()
			.references(() => tenants.id, { onDelete: "cascade" }),
		modelId: uuid("model_id")
			.notNull()
			.references(() => models.id, { onDelete: "cascade" }),
		modelName: text("model_name").notNull(),
		/** Desired now: the autoscaler moves it between min and max. */
		replicas: integer("replicas").notNull(),
		minReplicas: integer("min_replicas").notNull(),
		maxReplicas: integer("max_replicas").notNull(),
		resources: jsonb("resources").notNull(),
		batching: jsonb("batching")
			.notNull()
			.default(sql`'{}'::jsonb`),
		autoscaling: jsonb("autoscaling"),
		traffic: jsonb("traffic").notNull(),
		shadow: jsonb("shadow"),
		/** The traffic before the last change, for one-call rollback. */
		previousTraffic: jsonb("previous_traffic"),
		/** Capture, drift windows, SLO (lib/monitoring/monitoring-spec.ts); null: the defaults. */
		monitoring: jsonb("monitoring"),
		status: text("status").notNull(),
		statusReason: text("status_reason"),
		createdAt: createdAt(),
		updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
	},
	table => [unique("deployments_tenant_model").on(table.tenantId, table.modelId)],
);

/** Where a deployment's replicas are: one row per node holding it. */
export const deploymentReplicas = pgTable(
	"deployment_replicas",
	{
		deploymentId: uuid("deployment_id")
			.notNull()
			.references(() => deployments.id, { onDelete: "cascade" }),
		nodeId: text("node_id").notNull(),
		gpuIndex: integer("gpu_index"),
		state: text("state").notNull(),
		updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
	},
	table => [primaryKey({ columns: [table.deploymentId, table.nodeId] })],
);

/** An uploaded dataset: immutable; a new upload under the same name is its next version. */
export const datasets = pgTable(
	"datasets",
	{
		id: uuid("id").primaryKey(),
		tenantId: uuid("tenant_id")
			.notNull()
			.references(() => tenants.id, { onDelete: "cascade" }),
		name: text("name").notNull(),
		version: integer("version").notNull(),
		sha256: text("sha256").notNull(),
		size: bigint("size", { mode: "number" }).notNull(),
		format: text("format").notNull(),
		labelColumn: text("label_column"),
		rows: integer("rows").notNull(),
		/** The validation report: column types, missing counts, ranges, class balance. */
		report: jsonb("report").notNull(),
		createdAt: createdAt(),
	},
	table => [unique("datasets_tenant_name_version").on(table.tenantId, table.name, table.version)],
);

/** The training queue and every job's history: priority, then submission order. */
export const trainingJobs = pgTable("training_jobs", {
	id: uuid("id").primaryKey(),
	seq: bigserial("seq", { mode: "number" }).notNull(),
	tenantId: uuid("tenant_id")
		.notNull()
		.references(() => tenants.id, { onDelete: "cascade" }),
	modelName: text("model_name").notNull(),
	datasetId: uuid("dataset_id")
		.notNull()
		.references(() => datasets.id),
	spec: jsonb("spec").notNull(),
	priority: integer("priority").notNull(),
	gpu: boolean("gpu").notNull(),
	state: text("state").notNull(),
	nodeId: text("node_id"),
	attempts: integer("attempts").notNull().default(0),
	failures: jsonb("failures")
		.notNull()
		.default(sql`'[]'::jsonb`),
	epoch: integer("epoch").notNull().default(0),
	checkpoint: jsonb("checkpoint"),
	progress: jsonb("progress")
		.notNull()
		.default(sql`'[]'::jsonb`),
	backend: text("backend"),
	result: jsonb("result"),
	error: text("error"),
	waitingReason: text("waiting_reason"),
	/** Trainers the next attempt runs on (data-parallel); the running attempt's nodes, rank order. */
	workers: integer("workers").notNull().default(1),
	gang: jsonb("gang")
		.notNull()
		.default(sql`'[]'::jsonb`),
	deadlineAt: timestamp("deadline_at", { withTimezone: true }),
	createdAt: createdAt(),
	startedAt: timestamp("started_at", { withTimezone: true }),
	finishedAt: timestamp("finished_at", { withTimezone: true }),
	updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
	/** The study this job is a trial (segment) of (migration 0011); null for a plain job. */
	studyId: uuid("study_id"),
	trial: integer("trial"),
	rung: integer("rung"),
	/** The run's tags (strings), set at submission or later. */
	tags: jsonb("tags")
		.notNull()
		.default(sql`'[]'::jsonb`),
});

/**
 * Hyperparameter studies (migration 0011, lib/studies): the request, the state and the best
 * trial; the trials are training jobs naming the study.
 */
export const studies = pgTable("studies", {
	id: uuid("id").primaryKey(),
	seq: bigserial("seq", { mode: "number" }).notNull(),
	tenantId: uuid("tenant_id")
		.notNull()
		.references(() => tenants.id, { onDelete: "cascade" }),
	name: text("name").notNull(),
	modelName: text("model_name").notNull(),
	datasetId: uuid("dataset_id")
		.notNull()
		.references(() => datasets.id),
	spec: jsonb("spec").notNull(),
	state: text("state").notNull(),
	best: jsonb("best"),
	error: text("error"),
	createdAt: createdAt(),
	finishedAt: timestamp("finished_at", { withTimezone: true }),
	updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
});

/** Secrets of the installation, generated once and read by every control node (the API key secret). */
export const installationSecrets = pgTable("installation_secrets", {
	name: text("name").primaryKey(),
	value: text("value").notNull(),
	createdAt: createdAt(),
});

/**
 * Which tenant holds which blob (migration 0006). A blob's bytes are stored once whoever uploads
 * them; a tenant may name a blob by hash only when a row here says it stored (or was made) it.
 */
export const artifactOwners = pgTable(
	"artifact_owners",
	{
		tenantId: uuid("tenant_id")
			.notNull()
			.references(() => tenants.id, { onDelete: "cascade" }),
		sha256: text("sha256").notNull(),
		createdAt: createdAt(),
	},
	table => [
		primaryKey({ columns: [table.tenantId, table.sha256] }),
		index("artifact_owners_sha256").on(table.sha256),
	],
);

/** Metering (lib/metering): the counters of one tenant, model, version and UTC hour. */
export const usageHourly = pgTable(
	"usage_hourly",
	{
		tenantId: uuid("tenant_id").notNull(),
		model: text("model").notNull(),
		/** "" for requests that failed before a version was resolved, and for training. */
		version: text("version").notNull(),
		hour: timestamp("hour", { withTimezone: true }).notNull(),
		requests: bigint("requests", { mode: "number" }).notNull().default(0),
		rows: bigint("rows", { mode: "number" }).notNull().default(0),
		errors: bigint("errors", { mode: "number" }).notNull().default(0),
		cpuMs: bigint("cpu_ms", { mode: "number" }).notNull().default(0),
		gpuMs: bigint("gpu_ms", { mode: "number" }).notNull().default(0),
		bytesIn: bigint("bytes_in", { mode: "number" }).notNull().default(0),
		bytesOut: bigint("bytes_out", { mode: "number" }).notNull().default(0),
		trainingCpuS: bigint("training_cpu_s", { mode: "number" }).notNull().default(0),
		trainingGpuS: bigint("training_gpu_s", { mode: "number" }).notNull().default(0),
	},
	table => [
		primaryKey({ columns: [table.tenantId, table.model, table.version, table.hour] }),
		index("usage_hourly_tenant_hour").on(table.tenantId, table.hour),
	],
);

/** The flushes already applied to usage_hourly: a repeated (node, incarnation, seq) is ignored. */
export const usageFlushes = pgTable(
	"usage_flushes",
	{
		node: text("node").notNull(),
		incarnation: text("incarnation").notNull(),
		seq: integer("seq").notNull(),
		appliedAt: timestamp("applied_at", { withTimezone: true }).notNull().defaultNow(),
	},
	table => [primaryKey({ columns: [table.node, table.incarnation, table.seq] })],
);

/** Stored bytes of a tenant per UTC day: the most seen by any snapshot of that day. */
export const usageStorageDaily = pgTable(
	"usage_storage_daily",
	{
		tenantId: uuid("tenant_id").notNull(),
		day: timestamp("day", { withTimezone: true }).notNull(),
		artifactsBytes: bigint("artifacts_bytes", { mode: "number" }).notNull().default(0),
		datasetsBytes: bigint("datasets_bytes", { mode: "number" }).notNull().default(0),
		capturesBytes: bigint("captures_bytes", { mode: "number" }).notNull().default(0),
		measuredAt: timestamp("measured_at", { withTimezone: true }).notNull().defaultNow(),
	},
	table => [primaryKey({ columns: [table.tenantId, table.day] })],
);

/** A tenant's quotas (lib/quotas), set by an admin; no row: unlimited. */
export const tenantQuotas = pgTable("tenant_quotas", {
	tenantId: uuid("tenant_id")
		.primaryKey()
		.references(() => tenants.id, { onDelete: "cascade" }),
	quotas: jsonb("quotas").notNull(),
	updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
});

/**
 * The control plane's leadership lease (migration 0008): the holder (node ID and process
 * instance), its epoch, and the expiry by the database's clock (lib/scheduler/leader-lease.ts).
 */
export const controlLeases = pgTable("control_leases", {
	name: text("name").primaryKey(),
	holder: text("holder").notNull(),
	nodeId: text("node_id").notNull(),
	epoch: bigint("epoch", { mode: "number" }).notNull(),
	acquiredAt: timestamp("acquired_at", { withTimezone: true }).notNull(),
	expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
});

/**
 * Captured predictions (payload capture), a row per batch a serving node flushed, partitioned
 * by day on `captured_at` (migration 0009; the capture store adds each day's partition). No
 * primary key: a partitioned table's would have to include the day.
 */
export const predictionCaptures = pgTable(
	"prediction_captures",
	{
		seq: bigserial("seq", { mode: "number" }).notNull(),
		tenantId: uuid("tenant_id")
			.notNull()
			.references(() => tenants.id, { onDelete: "cascade" }),
		model: text("model").notNull(),
		/** The batch's first capture. */
		capturedAt: timestamp("captured_at", { withTimezone: true }).notNull(),
		lastAt: timestamp("last_at", { withTimezone: true }).notNull(),
		captureCount: integer("capture_count").notNull(),
		rowCount: integer("row_count").notNull(),
		errorCount: integer("error_count").notNull(),
		/** The ids of rows stored before migration 0016 (empty since: see predictionKeys). */
		predictionIds: text("prediction_ids").array().notNull(),
		/** The key of each id the batch holds (lib/monitoring/prediction-key.ts; rows since 0016). */
		predictionKeys: bigint("prediction_keys", { mode: "bigint" }).array(),
		/** The captures as NDJSON, one a line: rows stored before migration 0014. */
		payload: text("payload"),
		/** The captures as a serving node wrote them (lib/monitoring/capture-batch.ts). */
		payloadBinary: bytea("payload_binary"),
		/** Where the bytes lie in the day's file beside an embedded database (lib/monitoring/capture-files.ts). */
		payloadOffset: bigint("payload_offset", { mode: "number" }),
		payloadLength: integer("payload_length"),
	},
	table => [
		index("prediction_captures_model_seq").on(table.tenantId, table.model, table.seq),
		index("prediction_captures_ids").using("gin", table.predictionIds),
		index("prediction_captures_keys").using("gin", table.predictionKeys),
	],
);

/** Ground truth sent back for a captured prediction's row, with what the model answered. */
export const predictionFeedback = pgTable(
	"prediction_feedback",
	{
		seq: bigserial("seq", { mode: "number" }).primaryKey(),
		tenantId: uuid("tenant_id")
			.notNull()
			.references(() => tenants.id, { onDelete: "cascade" }),
		model: text("model").notNull(),
		predictionId: text("prediction_id").notNull(),
		rowIndex: integer("row_index").notNull(),
		version: text("version").notNull(),
		truth: jsonb("truth").notNull(),
		predicted: jsonb("predicted").notNull(),
		receivedAt: timestamp("received_at", { withTimezone: true }).notNull().defaultNow(),
	},
	table => [
		unique("prediction_feedback_once").on(
			table.tenantId,
			table.model,
			table.predictionId,
			table.rowIndex,
		),
		index("prediction_feedback_model_seq").on(table.tenantId, table.model, table.seq),
	],
);

/** Windows computed over captures and feedback: drift, live accuracy, health. */
export const monitoringWindows = pgTable(
	"monitoring_windows",
	{
		id: bigserial("id", { mode: "number" }).primaryKey(),
		tenantId: uuid("tenant_id")
			.notNull()
			.references(() => tenants.id, { onDelete: "cascade" }),
		model: text("model").notNull(),
		kind: text("kind").notNull(),
		/** The last capture (drift) or feedback (performance) seq the window holds. */
		lastSeq: bigint("last_seq", { mode: "number" }).notNull(),
		startedAt: timestamp("started_at", { withTimezone: true }).notNull(),
		endedAt: timestamp("ended_at", { withTimezone: true }).notNull(),
		rowCount: integer("row_count").notNull(),
		status: text("status").notNull(),
		report: jsonb("report").notNull(),
		createdAt: createdAt(),
	},
	table => [
		index("monitoring_windows_model_kind").on(
			table.tenantId,
			table.model,
			table.kind,
			table.id,
		),
	],
);

/** The event log of an all-in-one node (a fleet keeps its events on NATS JetStream). */
export const domainEvents = pgTable(
	"domain_events",
	{
		seq: bigserial("seq", { mode: "number" }).primaryKey(),
		/** The CloudEvents id. */
		id: text("id").notNull().unique(),
		tenantId: uuid("tenant_id").notNull(),
		type: text("type").notNull(),
		time: timestamp("time", { withTimezone: true }).notNull(),
		/** The whole CloudEvents envelope, as served. */
		envelope: jsonb("envelope").notNull(),
	},
	table => [
		index("domain_events_tenant_seq").on(table.tenantId, table.seq),
		index("domain_events_time").on(table.time),
	],
);

/** A tenant's webhook receiver: where, which event types, and the signing secret. */
export const webhookEndpoints = pgTable(
	"webhook_endpoints",
	{
		id: uuid("id").primaryKey(),
		tenantId: uuid("tenant_id")
			.notNull()
			.references(() => tenants.id, { onDelete: "cascade" }),
		url: text("url").notNull(),
		description: text("description").notNull().default(""),
		/** Event types (or `prefix.*` patterns, or `*`) the endpoint receives. */
		eventTypes: jsonb("event_types").notNull(),
		/** `whsec_<base64>`: the Standard Webhooks signing secret. */
		secret: text("secret").notNull(),
		enabled: boolean("enabled").notNull().default(true),
		createdAt: createdAt(),
	},
	table => [index("webhook_endpoints_tenant").on(table.tenantId)],
);

/** The webhook outbox: one row per event and endpoint, with its attempts. */
export const webhookDeliveries = pgTable(
	"webhook_deliveries",
	{
		id: uuid("id").primaryKey(),
		endpointId: uuid("endpoint_id")
			.notNull()
			.references(() => webhookEndpoints.id, { onDelete: "cascade" }),
		tenantId: uuid("tenant_id").notNull(),
		eventId: text("event_id").notNull(),
		eventType: text("event_type").notNull(),
		envelope: jsonb("envelope").notNull(),
		/** pending, delivered or dead (dead-lettered after the retry period). */
		state: text("state").notNull(),
		attempts: integer("attempts").notNull().default(0),
		nextAttemptAt: timestamp("next_attempt_at", { withTimezone: true }).notNull(),
		/** After this a failed attempt dead-letters the delivery instead of retrying it. */
		retryUntil: timestamp("retry_until", { withTimezone: true }).notNull(),
		/** Claimed by a sender until then; a sender killed mid-attempt lets it go by itself. */
		lockedUntil: timestamp("locked_until", { withTimezone: true }),
		lastStatus: integer("last_status"),
		lastError: text("last_error"),
		lastLatencyMs: integer("last_latency_ms"),
		/** Every attempt: time, status, latency, error. */
		log: jsonb("log")
			.notNull()
			.default(sql`'[]'::jsonb`),
		createdAt: createdAt(),
	},
	table => [
		unique().on(table.endpointId, table.eventId),
		index("webhook_deliveries_due").on(table.state, table.nextAttemptAt),
		index("webhook_deliveries_endpoint").on(table.endpointId, table.createdAt),
	],
);

export const schemaMigrations = pgTable("schema_migrations", {
	id: text("id").primaryKey(),
	appliedAt: timestamp("applied_at", { withTimezone: true }).notNull().defaultNow(),
});

export const dbSchema = {
	tenants,
	apiKeys,
	models,
	modelVersions,
	modelAliases,
	auditLog,
	deployments,
	deploymentReplicas,
	datasets,
	trainingJobs,
	studies,
	installationSecrets,
	artifactOwners,
	controlLeases,
	predictionCaptures,
	predictionFeedback,
	monitoringWindows,

	domainEvents,
	webhookEndpoints,
	webhookDeliveries,
	schemaMigrations,
	// Metering and quotas (accounts).
	usageHourly,
	usageFlushes,
	usageStorageDaily,
	tenantQuotas,
};
