/**
 * The REST routes of /api/v1 ("METHOD path" → action), each with its documentation beside it
 * (`documented`, lib/http/openapi/declarations.ts): the OpenAPI document is generated from this
 * table, so a route added here is documented here, in the same entry.
 */
import { SERVICE } from "../../fleet/node-role";
import {
	arrayOf,
	BINARY,
	created,
	documented,
	json,
	page,
	schemaRef,
	type ParameterDoc,
	type ResponseDoc,
} from "../openapi/declarations";

const ok = (description: string, schema: string): ResponseDoc =>
	json(description, schemaRef(schema));

/** The bodies an upload takes: the raw file, or the file part of a form. */
const UPLOAD_BODY = {
	description: "The file as the raw body, or as the file part of a `multipart/form-data` form.",
	content: {
		"application/octet-stream": BINARY,
		"multipart/form-data": {
			type: "object",
			properties: { file: BINARY },
			required: ["file"],
		},
	},
};

const PREDICT_BODY = {
	description:
		"Open Inference Protocol `inputs`, or tabular `instances` (rows as arrays or objects by feature name).",
	content: {
		"application/json": {
			oneOf: [
				schemaRef("OipInferenceRequest"),
				{
					type: "object",
					properties: {
						instances: {
							type: "array",
							items: { anyOf: [{ type: "array" }, { type: "object" }] },
						},
						parameters: { type: "object" },
					},
					required: ["instances"],
				},
			],
		},
	},
};

/** Batch predictions: rows in as CSV or NDJSON, one JSON line per row out as it finishes. */
const BATCH_PREDICT = {
	tag: "Predictions",
	summary: "Predict many rows, streamed",
	description:
		"Rows stream in as CSV (a header row of feature names) or NDJSON (one row object or array a line); " +
		"one JSON line per row streams out as its batch finishes (`{row, outputs}` or `{row, error}`).",
	requestBody: {
		content: {
			"text/csv": { type: "string" },
			"application/x-ndjson": { type: "string" },
		},
	},
	responses: {
		200: {
			description: "One JSON object a line, per row, in order.",
			content: {
				"application/x-ndjson": {
					type: "string",
					description: "Lines of `{row, outputs}` or `{row, error}`.",
				},
			},
		},
	},
	errors: [404],
} as const;

const RANGE_HEADERS: readonly ParameterDoc[] = [
	{
		name: "Range",
		in: "header",
		description: "One byte range (`bytes=0-1023`); the answer is 206 with that part.",
		schema: { type: "string" },
	},
	{
		name: "If-None-Match",
		in: "header",
		description: "The file's ETag (its sha256): 304 when it has not changed.",
		schema: { type: "string" },
	},
];

export const REST_ROUTES = {
	"GET nodes": documented(`${SERVICE.scheduler}.nodes`, {
		tag: "Fleet",
		summary: "List the fleet's nodes",
		responses: { 200: json("Every node: role, capacity, live status.", arrayOf("Node")) },
	}),
	"DELETE nodes/:id": documented(`${SERVICE.scheduler}.nodes.forget`, {
		tag: "Fleet",
		summary: "Forget a node that left",
		responses: { 200: ok("The node was forgotten.", "Deleted") },
		errors: [404, 409],
	}),

	"GET tenant": documented(`${SERVICE.accounts}.tenants.get`, {
		tag: "Tenants and keys",
		summary: "Show the caller's tenant",
		responses: { 200: ok("The key's tenant.", "Tenant") },
	}),
	"GET tenants": documented(`${SERVICE.accounts}.tenants.list`, {
		tag: "Tenants and keys",
		summary: "List tenants (admin tenant)",
		responses: { 200: json("Every tenant.", arrayOf("Tenant")) },
		errors: [403],
	}),
	"GET tenants/:id/quotas": documented(`${SERVICE.accounts}.quotas.get`, {
		tag: "Usage and quotas",
		summary: "Show a tenant's quotas",
		responses: { 200: ok("The tenant's limits.", "Quotas") },
		errors: [403, 404],
	}),
	"PUT tenants/:id/quotas": documented(`${SERVICE.accounts}.quotas.set`, {
		tag: "Usage and quotas",
		summary: "Set a tenant's quotas (admin tenant)",
		responses: { 200: ok("The tenant's limits now.", "Quotas") },
		errors: [403, 404],
	}),
	"GET usage": documented(`${SERVICE.accounts}.usage.get`, {
		tag: "Usage and quotas",
		summary: "Report usage",
		description: "JSON, or CSV for `Accept: text/csv`.",
		responses: {
			200: {
				description: "Usage by model, version and hour, and storage.",
				content: {
					"application/json": schemaRef("Usage"),
					"text/csv": { type: "string" },
				},
			},
		},
		errors: [403],
	}),
	"POST tenants": documented(`${SERVICE.accounts}.tenants.create`, {
		tag: "Tenants and keys",
		summary: "Create a tenant (admin tenant)",
		responses: {
			201: created(
				"The tenant and its owner key (shown only this once).",
				schemaRef("NewTenant"),
			),
		},
		errors: [403, 409],
	}),
	"GET keys": documented(`${SERVICE.accounts}.keys.list`, {
		tag: "Tenants and keys",
		summary: "List the tenant's API keys",
		responses: { 200: json("The keys, without their secrets.", arrayOf("Key")) },
	}),
	"POST keys": documented(`${SERVICE.accounts}.keys.create`, {
		tag: "Tenants and keys",
		summary: "Create an API key",
		responses: {
			201: created("The key, with its secret shown only this once.", schemaRef("NewKey")),
		},
		errors: [409],
	}),
	"DELETE keys/:id": documented(`${SERVICE.accounts}.keys.revoke`, {
		tag: "Tenants and keys",
		summary: "Revoke an API key",
		responses: { 200: ok("The key, revoked.", "Key") },
		errors: [404, 409],
	}),

	"GET models": documented(`${SERVICE.registry}.models.list`, {
		tag: "Models",
		summary: "List models",
		responses: { 200: json("A page of models.", page("Model")) },
	}),
	"POST models": documented(`${SERVICE.registry}.models.create`, {
		tag: "Models",
		summary: "Create a model",
		responses: { 201: created("The new model.", schemaRef("Model")) },
		errors: [409],
	}),
	"GET models/:name": documented(`${SERVICE.registry}.models.get`, {
		tag: "Models",
		summary: "Show a model",
		responses: { 200: ok("The model.", "Model") },
		errors: [404],
	}),
	"PATCH models/:name": documented(`${SERVICE.registry}.models.update`, {
		tag: "Models",
		summary: "Change a model's description or tags",
		responses: { 200: ok("The model now.", "Model") },
		errors: [404],
	}),
	"DELETE models/:name": documented(`${SERVICE.registry}.models.delete`, {
		tag: "Models",
		summary: "Delete a model",
		responses: { 200: ok("What was deleted.", "Deleted") },
		errors: [404, 409],
	}),
	"GET models/:model/versions": documented(`${SERVICE.registry}.versions.list`, {
		tag: "Versions",
		summary: "List a model's versions",
		responses: { 200: json("A page of versions.", page("Version")) },
		errors: [404],
	}),
	"POST models/:model/versions": documented(`${SERVICE.registry}.versions.create`, {
		tag: "Versions",
		summary: "Create a version from an artifact",
		responses: { 201: created("The new version.", schemaRef("Version")) },
		errors: [404, 409],
	}),
	"GET models/:model/versions/:version": documented(`${SERVICE.registry}.versions.get`, {
		tag: "Versions",
		summary: "Show a version",
		responses: { 200: ok("The version.", "Version") },
		errors: [404],
	}),
	"PATCH models/:model/versions/:version": documented(`${SERVICE.registry}.versions.update`, {
		tag: "Versions",
		summary: "Change a version's description, metrics or labels",
		responses: { 200: ok("The version now.", "Version") },
		errors: [404],
	}),
	"POST models/:model/versions/:version/transition": documented(
		`${SERVICE.registry}.versions.transition`,
		{
			tag: "Versions",
			summary: "Move a version through its lifecycle",
			responses: { 200: ok("The version in its new state.", "Version") },
			errors: [404, 409],
		},
	),
	"GET models/:model/aliases": documented(`${SERVICE.registry}.aliases.list`, {
		tag: "Aliases",
		summary: "List a model's aliases",
		responses: { 200: json("The aliases.", arrayOf("Alias")) },
		errors: [404],
	}),
	"PUT models/:model/aliases/:alias": documented(`${SERVICE.registry}.aliases.set`, {
		tag: "Aliases",
		summary: "Point an alias at a version",
		responses: { 200: ok("The alias, and the version it pointed at before.", "Alias") },
		errors: [404, 409],
	}),
	"DELETE models/:model/aliases/:alias": documented(`${SERVICE.registry}.aliases.delete`, {
		tag: "Aliases",
		summary: "Delete an alias",
		responses: { 200: ok("The alias that was deleted.", "AliasDeleted") },
		errors: [404],
	}),
	"POST models/:model/versions/import": documented(`${SERVICE.registry}.versions.import`, {
		tag: "Versions",
		summary: "Import a version from an uploaded model file",
		responses: {
			201: created("The new version, its schema read from the file.", schemaRef("Version")),
		},
		errors: [404, 409],
	}),
	"GET models/:model/versions/:version/files": documented(`${SERVICE.registry}.versions.files`, {
		tag: "Versions",
		summary: "List a version's files",
		responses: { 200: ok("The files, with sizes and digests.", "VersionFiles") },
		errors: [404],
	}),
	// Downloads stream from the artifacts service in ranged parts (bounded memory, any size).
	"GET models/:model/versions/:version/files/:path": documented(`${SERVICE.api}.downloadFile`, {
		tag: "Versions",
		summary: "Download a version's file",
		description: "Streamed; one `Range` is honoured, the ETag is the file's sha256.",
		parameters: RANGE_HEADERS,
		responses: {
			200: {
				description: "The whole file.",
				content: { "application/octet-stream": BINARY },
				headers: {
					ETag: { description: "The file's sha256, quoted.", schema: { type: "string" } },
					"Accept-Ranges": { description: "`bytes`.", schema: { type: "string" } },
				},
			},
			206: {
				description: "The range asked for.",
				content: { "application/octet-stream": BINARY },
				headers: {
					"Content-Range": {
						description: "`bytes first-last/size`.",
						schema: { type: "string" },
					},
				},
			},
			304: { description: "Not modified: the ETag matches `If-None-Match`." },
		},
		errors: [404, 416],
	}),
	"GET audit": documented(`${SERVICE.registry}.audit.list`, {
		tag: "Audit",
		summary: "Read the audit log",
		responses: { 200: json("A page of entries, newest first.", page("AuditEntry")) },
	}),

	"POST datasets": documented(`stream:${SERVICE.api}.uploadDataset`, {
		tag: "Datasets",
		summary: "Upload a dataset",
		description:
			"CSV or NDJSON (as `format` says), checked while it streams: the raw body, whatever its " +
			"type, or the file part of a `multipart/form-data` form.",
		requestBody: {
			content: {
				"text/csv": { type: "string" },
				"application/x-ndjson": { type: "string" },
				"application/octet-stream": BINARY,
				"multipart/form-data": {
					type: "object",
					properties: { file: BINARY },
					required: ["file"],
				},
			},
		},
		responses: { 201: created("The dataset.", schemaRef("Dataset")) },
		errors: [409],
	}),
	"GET datasets": documented(`${SERVICE.registry}.datasets.list`, {
		tag: "Datasets",
		summary: "List datasets",
		responses: { 200: json("A page of datasets.", page("Dataset")) },
	}),
	"GET datasets/:ref": documented(`${SERVICE.registry}.datasets.get`, {
		tag: "Datasets",
		summary: "Show a dataset",
		responses: { 200: ok("The dataset.", "Dataset") },
		errors: [404],
	}),

	"POST training-jobs": documented(`${SERVICE.scheduler}.jobs.enqueue`, {
		tag: "Training",
		summary: "Start a training job",
		responses: { 201: created("The queued job.", schemaRef("TrainingJob")) },
		errors: [404, 409],
	}),
	"GET training-jobs": documented(`${SERVICE.scheduler}.jobs.list`, {
		tag: "Training",
		summary: "List training jobs",
		responses: { 200: json("A page of jobs.", page("TrainingJob")) },
	}),
	"GET training-jobs/:id": documented(`${SERVICE.scheduler}.jobs.get`, {
		tag: "Training",
		summary: "Show a training job",
		responses: { 200: ok("The job.", "TrainingJob") },
		errors: [404],
	}),
	"POST training-jobs/:id/cancel": documented(`${SERVICE.scheduler}.jobs.cancel`, {
		tag: "Training",
		summary: "Cancel a training job",
		responses: { 200: ok("The job, cancelled.", "TrainingJob") },
		errors: [404, 409],
	}),
	"GET training-jobs/:id/events": documented(`${SERVICE.api}.trainingEvents`, {
		tag: "Training",
		summary: "Follow a training job's progress",
		description:
			"Server-Sent Events: the epochs so far, then each new one as it ends, until the job " +
			"completes, fails or is cancelled.",
		responses: {
			200: {
				description:
					"An event stream: `state`, one `progress` per epoch, then `end` (JSON `data`).",
				content: { "text/event-stream": { type: "string" } },
			},
		},
		errors: [404],
	}),

	"GET deployments": documented(`${SERVICE.scheduler}.deployments.list`, {
		tag: "Deployments",
		summary: "List deployments",
		responses: { 200: json("A page of deployments.", page("Deployment")) },
	}),
	"POST deployments": documented(`${SERVICE.scheduler}.deployments.create`, {
		tag: "Deployments",
		summary: "Deploy a model",
		responses: { 201: created("The deployment.", schemaRef("Deployment")) },
		errors: [404, 409],
	}),
	"GET deployments/:model": documented(`${SERVICE.scheduler}.deployments.get`, {
		tag: "Deployments",
		summary: "Show a deployment",
		responses: { 200: ok("The deployment.", "Deployment") },
		errors: [404],
	}),
	"PATCH deployments/:model": documented(`${SERVICE.scheduler}.deployments.update`, {
		tag: "Deployments",
		summary: "Change a deployment",
		responses: { 200: ok("The deployment now.", "Deployment") },
		errors: [404, 409],
	}),
	"DELETE deployments/:model": documented(`${SERVICE.scheduler}.deployments.delete`, {
		tag: "Deployments",
		summary: "Undeploy a model",
		responses: { 200: ok("Which deployment was deleted.", "DeploymentDeleted") },
		errors: [404],
	}),
	"POST deployments/:model/scale": documented(`${SERVICE.scheduler}.deployments.scale`, {
		tag: "Deployments",
		summary: "Scale a deployment",
		responses: { 200: ok("The deployment now.", "Deployment") },
		errors: [404, 409],
	}),
	"POST deployments/:model/promote": documented(`${SERVICE.scheduler}.deployments.promote`, {
		tag: "Deployments",
		summary: "Promote the canary",
		responses: { 200: ok("The deployment now.", "Deployment") },
		errors: [404, 409],
	}),
	"POST deployments/:model/rollback": documented(`${SERVICE.scheduler}.deployments.rollback`, {
		tag: "Deployments",
		summary: "Roll back the canary",
		responses: { 200: ok("The deployment now.", "Deployment") },
		errors: [404, 409],
	}),
	// Monitoring (docs/monitoring.md): drift and health windows, captured payloads as NDJSON.
	"GET deployments/:model/drift": documented(`${SERVICE.scheduler}.monitoring.drift`, {
		tag: "Monitoring",
		summary: "Show a deployment's drift windows",
		responses: { 200: ok("The settings and the windows, newest first.", "Drift") },
		errors: [404],
	}),
	"GET deployments/:model/health": documented(`${SERVICE.scheduler}.monitoring.health`, {
		tag: "Monitoring",
		summary: "Show a deployment's health",
		responses: {
			200: json(
				"The last health check (score and parts); null (an empty body) before the first.",
				{
					anyOf: [schemaRef("Health"), { type: "null" }],
				},
			),
		},
		errors: [404],
	}),
	"GET deployments/:model/captures": documented(`${SERVICE.api}.exportCaptures`, {
		tag: "Monitoring",
		summary: "Export captured predictions",
		responses: {
			200: {
				description: "One captured prediction a line (inputs, outputs, id, time).",
				content: { "application/x-ndjson": { type: "string" } },
			},
		},
		errors: [404],
	}),
	"POST models/:model/feedback": documented(`${SERVICE.scheduler}.monitoring.feedback`, {
		tag: "Monitoring",
		summary: "Send ground truth for predictions",
		responses: {
			200: json("How many labels were matched to captured predictions.", { type: "object" }),
		},
		errors: [404],
	}),
	// Predictions as JSON: Open Inference Protocol `inputs` or tabular `instances`.
	"POST models/:model/predict": documented(`${SERVICE.api}.predict`, {
		tag: "Predictions",
		summary: "Predict with a model",
		requestBody: PREDICT_BODY,
		responses: { 200: ok("The outputs, and what ran them.", "OipInferenceResponse") },
		errors: [404],
	}),
	"POST models/:model/versions/:version/predict": documented(`${SERVICE.api}.predict`, {
		tag: "Predictions",
		summary: "Predict with a version",
		requestBody: PREDICT_BODY,
		responses: { 200: ok("The outputs, and what ran them.", "OipInferenceResponse") },
		errors: [404],
	}),
	"POST models/:model/explain": documented(`${SERVICE.predictor}.explain`, {
		tag: "Predictions",
		summary: "Explain a model's predictions",
		responses: { 200: ok("Attributions per row.", "Explanation") },
		errors: [404],
	}),
	"POST models/:model/versions/:version/explain": documented(`${SERVICE.predictor}.explain`, {
		tag: "Predictions",
		summary: "Explain a version's predictions",
		responses: { 200: ok("Attributions per row.", "Explanation") },
		errors: [404],
	}),
	"POST models/:model/versions/:version/importance": documented(
		`${SERVICE.predictor}.importance`,
		{
			tag: "Predictions",
			summary: "Measure feature importance",
			responses: { 200: ok("Permutation importance.", "Importance") },
			errors: [404],
		},
	),
	// Uploads stream through this gateway to the artifacts service part by part (bounded memory).
	"POST artifacts": documented(`stream:${SERVICE.api}.uploadArtifact`, {
		tag: "Artifacts",
		summary: "Upload an artifact",
		requestBody: UPLOAD_BODY,
		responses: { 201: created("The stored artifact.", schemaRef("Artifact")) },
	}),
	"POST models/:model/versions/upload": documented(`stream:${SERVICE.api}.uploadVersion`, {
		tag: "Versions",
		summary: "Upload a model file as a new version",
		description: "ONNX, TF.js or XGBoost; the version's schema is read from the file.",
		requestBody: UPLOAD_BODY,
		responses: { 201: created("The new version.", schemaRef("Version")) },
		errors: [404, 409],
	}),
	// Batch predictions: CSV or NDJSON rows streamed in, NDJSON lines streamed out.
	"POST models/:model/batch-predict": documented(
		`stream:${SERVICE.api}.batchPredict`,
		BATCH_PREDICT,
	),
	"POST models/:model/versions/:version/batch-predict": documented(
		`stream:${SERVICE.api}.batchPredict`,
		BATCH_PREDICT,
	),
};
