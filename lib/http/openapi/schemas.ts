/**
 * The bodies the gateway answers, as JSON Schema for the OpenAPI document's `components`. They
 * name the fields a client relies on and leave the rest open (`additionalProperties` is not
 * closed): answers gain fields without breaking clients. The OpenAPI test validates real
 * answers against them.
 */
import type { JsonSchema } from "../openapi";
import { OIP_SCHEMAS } from "./oip-schemas";

const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
const str: JsonSchema = { type: "string" };
const time: JsonSchema = { type: "string", format: "date-time" };
const nullableTime: JsonSchema = { type: ["string", "null"], format: "date-time" };
const uuid: JsonSchema = { type: "string", format: "uuid" };
const obj = (properties: Record<string, JsonSchema>, required: string[], description?: string) => ({
	type: "object",
	...(description ? { description } : {}),
	properties,
	required,
});

const tensor = obj(
	{ name: str, datatype: str, shape: { type: "array", items: { type: "integer" } } },
	["name", "datatype", "shape"],
);

export const API_SCHEMAS: Readonly<Record<string, JsonSchema>> = {
	Error: obj(
		{
			name: { type: "string", description: "The error class, e.g. `NotFoundError`." },
			type: {
				type: "string",
				description: "Stable UPPER_SNAKE type to branch on (see lib/errors.ts).",
			},
			message: { type: "string", description: "What was wrong and how to fix it." },
			code: { type: "integer", description: "The HTTP status again." },
			data: { description: "Details: the fields that failed validation, the limit hit…" },
		},
		["name", "type", "message", "code"],
		"The REST API's error body (lib/http/error-response.ts).",
	),
	Live: obj({ status: { enum: ["live"] }, nodeID: str }, ["status"]),
	Ready: obj(
		{
			ready: { type: "boolean" },
			missing: {
				type: "array",
				items: str,
				description: "Services this node still waits for.",
			},
			nodeID: str,
		},
		["ready"],
	),
	OpenApiDocument: obj({ openapi: str, info: { type: "object" }, paths: { type: "object" } }, [
		"openapi",
		"info",
		"paths",
	]),
	Node: obj(
		{
			nodeID: str,
			role: str,
			available: { type: "boolean" },
			hostname: str,
			version: str,
			capacity: { type: "object" },
			services: { type: "array", items: str },
			status: { type: ["object", "null"] },
		},
		["nodeID", "role", "available"],
	),
	Tenant: obj({ id: uuid, name: str, isAdmin: { type: "boolean" }, createdAt: time }, [
		"id",
		"name",
		"isAdmin",
	]),
	Key: obj(
		{
			id: uuid,
			tenantId: uuid,
			name: str,
			prefix: { type: "string", description: "The key's first characters, to recognise it." },
			role: { enum: ["owner", "developer", "predictor", "viewer"] },
			createdAt: time,
			expiresAt: nullableTime,
			revokedAt: nullableTime,
		},
		["id", "tenantId", "name", "role"],
	),
	NewKey: {
		allOf: [
			ref("Key"),
			obj({ key: { type: "string", description: "The secret, shown only this once." } }, [
				"key",
			]),
		],
	},
	Whoami: obj(
		{
			tenant: ref("Tenant"),
			role: { enum: ["owner", "developer", "predictor", "viewer"] },
			keyId: { type: ["string", "null"] },
			permissions: {
				type: "array",
				items: str,
				description: "What the key may do (docs/http-api.md, the role table).",
			},
		},
		["tenant", "role", "permissions"],
	),
	NewTenant: obj({ tenant: ref("Tenant"), ownerKey: ref("NewKey") }, ["tenant", "ownerKey"]),
	Usage: obj(
		{
			tenant: str,
			from: time,
			to: time,
			granularity: str,
			usage: { type: "array", items: { type: "object" } },
			storage: { type: "array", items: { type: "object" } },
		},
		["usage"],
	),
	Quotas: {
		type: "object",
		description: "The tenant's limits by name (a null limit is no limit).",
	},
	Model: obj(
		{
			id: uuid,
			name: str,
			description: str,
			task: str,
			framework: str,
			tags: { type: "object", additionalProperties: str },
			createdAt: time,
			updatedAt: time,
		},
		["id", "name", "task", "framework"],
	),
	Version: obj(
		{
			id: uuid,
			model: str,
			version: str,
			ref: { type: "string", description: "`model@version`." },
			state: {
				enum: [
					"Draft",
					"Training",
					"Trained",
					"Validated",
					"Deployed",
					"Retired",
					"Failed",
				],
			},
			format: { type: ["string", "null"] },
			artifact: { type: ["object", "null"] },
			schema: obj(
				{
					inputs: { type: "array", items: tensor },
					outputs: { type: "array", items: tensor },
				},
				[],
			),
			metrics: { type: "array" },
		},
		["id", "model", "version", "state"],
	),
	VersionFiles: obj(
		{
			model: str,
			version: str,
			ref: str,
			files: {
				type: "array",
				items: obj({ path: str, sha256: str, size: { type: "integer" }, kind: str }, [
					"path",
					"size",
				]),
			},
		},
		["files"],
	),
	Alias: obj({ alias: str, model: str, version: str, ref: str, updatedAt: time }, [
		"alias",
		"model",
		"version",
	]),
	AliasDeleted: obj({ alias: str, model: str }, ["alias", "model"]),
	Dataset: obj(
		{
			id: uuid,
			name: str,
			version: { type: "integer" },
			ref: { type: "string", description: "`name@version`: how jobs name it." },
			sha256: str,
			size: { type: "integer" },
			format: { enum: ["csv", "ndjson"] },
			labelColumn: { type: ["string", "null"] },
			rows: { type: "integer" },
			createdAt: time,
		},
		["id", "name", "version", "ref"],
	),
	Artifact: obj({ sha256: str, size: { type: "integer" } }, ["sha256", "size"]),
	TrainingJob: obj(
		{
			id: uuid,
			model: str,
			datasetId: str,
			state: str,
			priority: { type: "integer" },
			gpu: { type: "boolean" },
			nodeID: { type: ["string", "null"] },
			attempts: { type: "integer" },
			epoch: { type: "integer" },
			progress: { type: "array", items: { type: "object" } },
			result: { type: ["object", "null"] },
			error: { type: ["string", "null"] },
			waitingReason: { type: ["string", "null"] },
			workers: {
				type: "integer",
				description:
					"Trainers the job runs on (data-parallel training; docs/training.md#data-parallel-training).",
			},
			gang: {
				type: "array",
				items: str,
				description: "A running data-parallel attempt's nodes, in rank order.",
			},
			createdAt: time,
			startedAt: nullableTime,
			finishedAt: nullableTime,
		},
		["id", "model", "state"],
	),
	Study: obj(
		{
			id: uuid,
			name: str,
			model: str,
			state: {
				type: "string",
				enum: ["running", "registering", "completed", "failed", "cancelled"],
			},
			spec: { type: "object" },
			best: { type: ["object", "null"] },
			error: { type: ["string", "null"] },
			trialsStarted: { type: "integer" },
			trialsFinished: { type: "integer" },
			epochsRun: { type: "integer" },
			trials: { type: "array", items: { type: "object" } },
			createdAt: time,
			finishedAt: nullableTime,
		},
		["id", "name", "model", "state", "trials"],
	),
	Run: obj(
		{
			id: uuid,
			model: str,
			state: str,
			study: { type: ["object", "null"] },
			tags: { type: "array", items: str },
			params: { type: "object" },
			metrics: { type: "object", additionalProperties: { type: "number" } },
			epochs: { type: "array", items: { type: "object" } },
			system: { type: "object" },
			artifacts: { type: "object" },
			createdAt: time,
			finishedAt: nullableTime,
		},
		["id", "model", "state", "params", "metrics", "tags"],
	),
	RunComparison: obj(
		{
			runs: { type: "array", items: { type: "object" } },
			params: { type: "object" },
			differing: { type: "array", items: str },
			metrics: { type: "object" },
		},
		["runs", "params", "differing", "metrics"],
	),
	Deployment: obj(
		{
			id: uuid,
			model: str,
			replicas: { type: "integer" },
			minReplicas: { type: "integer" },
			maxReplicas: { type: "integer" },
			traffic: { type: "array", items: { type: "object" } },
		},
		["id", "model", "replicas"],
	),
	DeploymentDeleted: obj({ deleted: str }, ["deleted"]),
	EventPage: obj(
		{
			items: {
				type: "array",
				items: obj(
					{
						cursor: str,
						event: {
							type: "object",
							description: "A CloudEvent 1.0 (docs/events.md).",
							properties: {
								specversion: str,
								id: str,
								type: str,
								source: str,
								time: str,
							},
							required: ["specversion", "id", "type"],
						},
					},
					["cursor", "event"],
				),
			},
			nextCursor: { type: ["string", "null"], description: "Pass as `after` to read on." },
		},
		["items"],
	),
	Webhook: obj(
		{
			id: uuid,
			url: { type: "string", format: "uri" },
			eventTypes: { type: "array", items: str },
			enabled: { type: "boolean" },
			description: str,
			secret: { type: "string", description: "`whsec_…`; only when created or rotated." },
		},
		["id", "url", "eventTypes", "enabled"],
	),
	WebhookDelivery: obj(
		{
			id: str,
			eventId: str,
			eventType: str,
			state: str,
			attempts: { type: "integer" },
			lastStatus: { type: ["integer", "null"] },
			log: { type: "array", items: { type: "object" } },
		},
		["id", "state"],
	),
	Drift: obj(
		{
			model: str,
			captureRate: { type: "number" },
			thresholds: { type: "object" },
			window: { type: "object" },
			windows: { type: "array", items: { type: "object" } },
			performance: { type: "array", items: { type: "object" } },
		},
		["model", "windows"],
		"docs/monitoring.md: the settings, the drift windows and the accuracy windows.",
	),
	Health: {
		type: "object",
		description: "A health check: `score` 0–100, `status`, its `parts`, `at`.",
		properties: {
			score: { type: "number" },
			status: { enum: ["healthy", "degraded", "unhealthy"] },
			parts: { type: "object" },
			at: str,
		},
	},
	Deleted: {
		type: "object",
		description: "What was deleted or forgotten.",
	},
	Explanation: {
		type: "object",
		description: "Attributions per row and feature (docs/explanations.md).",
	},
	Importance: {
		type: "object",
		description: "Permutation importance of the features (docs/explanations.md).",
	},
	AuditEntry: obj(
		{
			id: { type: "integer" },
			tenantId: uuid,
			keyId: { type: ["string", "null"] },
			action: str,
			target: str,
			outcome: str,
			at: time,
		},
		["id", "action", "outcome", "at"],
	),
	OipModelReady: obj(
		{ name: str, version: str, ready: { type: "boolean" }, state: str, reason: str },
		["ready"],
	),
	OipServerReady: obj({ ready: { type: "boolean" } }, ["ready"]),
	OipServerLive: obj({ live: { type: "boolean" } }, ["live"]),
	TritonModelConfig: {
		type: "object",
		description: "Triton's ModelConfig as JSON (model_config.proto).",
		properties: { name: str, platform: str, max_batch_size: { type: "integer" } },
		required: ["name"],
	},
	TritonModelStatistics: obj(
		{
			model_stats: {
				type: "array",
				items: obj(
					{
						name: str,
						version: str,
						last_inference: { type: "integer" },
						inference_count: { type: "integer" },
						execution_count: { type: "integer" },
						inference_stats: { type: "object" },
					},
					["name", "version", "inference_stats"],
				),
			},
		},
		["model_stats"],
		"Triton's statistics extension.",
	),
	RepositoryIndex: {
		type: "array",
		items: obj({ name: str, version: str, state: str, reason: str }, ["name"]),
	},
	...OIP_SCHEMAS,
};
