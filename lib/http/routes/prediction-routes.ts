/**
 * /api/v1 routes that predict or take uploads (predict, explain, importance, artifacts, model
 * files, batch predictions), each documented beside its alias (lib/http/openapi/declarations.ts).
 */
import { SERVICE } from "../../fleet/node-role";
import { IDEMPOTENCY_KEY_PARAMETER, IDEMPOTENT_REPLAYED_HEADER } from "../idempotency-key-header";
import { BINARY, created, documented, ok, schemaRef } from "../openapi/declarations";

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

export const PREDICTION_ROUTES = {
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
		parameters: [IDEMPOTENCY_KEY_PARAMETER],
		// Sent as the Idempotency-Key header.
		hide: ["idempotencyKey"],
		responses: {
			201: created("The new version.", schemaRef("Version"), IDEMPOTENT_REPLAYED_HEADER),
		},
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
