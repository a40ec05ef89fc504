/**
 * The Open Inference Protocol routes (KServe v2 / Triton HTTP) with their documentation beside
 * them: the parts that need no key, the per-model routes and Triton's model repository
 * extension. Their bodies reference the spec's schemas (lib/http/openapi/oip-schemas.ts).
 */
import { SERVICE } from "../../fleet/node-role";
import {
	BINARY,
	documented,
	json,
	ok,
	schemaRef,
	type OperationDoc,
} from "../openapi/declarations";

/** JSON, or the binary tensor data extension: a JSON header then raw tensor bytes. */
const INFER: Omit<OperationDoc, "summary"> = {
	tag: "Open Inference Protocol",
	description:
		"The body is the inference request as JSON, or (binary tensor data extension) its JSON " +
		"header followed by raw little-endian tensor bytes, with the header's length in " +
		"`Inference-Header-Content-Length`. Gzip and deflate bodies are taken (`Content-Encoding`).",
	parameters: [
		{
			name: "Inference-Header-Content-Length",
			in: "header",
			description: "Bytes of the JSON header before the binary tensor data.",
			schema: { type: "integer", minimum: 0 },
		},
	],
	requestBody: {
		content: {
			"application/json": schemaRef("OipInferenceRequest"),
			"application/octet-stream": BINARY,
		},
	},
	responses: {
		200: {
			description:
				"The outputs as JSON, or a JSON header followed by the binary outputs the request asked for.",
			content: {
				"application/json": schemaRef("OipInferenceResponse"),
				"application/octet-stream": BINARY,
			},
		},
	},
	errors: [404],
};

const STATS = {
	tag: "Open Inference Protocol",
	responses: { 200: ok("Per model and version: counts and durations.", "TritonModelStatistics") },
	errors: [404],
} as const;
const CONFIG = {
	tag: "Open Inference Protocol",
	responses: { 200: ok("Triton's model configuration.", "TritonModelConfig") },
	errors: [404],
} as const;
const METADATA = {
	tag: "Open Inference Protocol",
	responses: { 200: ok("Name, versions, platform, inputs and outputs.", "OipModelMetadata") },
	errors: [404],
} as const;
const READY = {
	tag: "Open Inference Protocol",
	responses: {
		200: ok("Ready to serve.", "OipModelReady"),
		// Not ready answers 400 with the same body, as Triton does; a bad parameter, the error.
		400: json("Not ready (the same body), or a parameter that is not valid (an error).", {
			anyOf: [schemaRef("OipModelReady"), schemaRef("OipError")],
		}),
	},
	errors: [404],
} as const;

/** `/v2`: health and server metadata, without a key. */
export const OIP_PUBLIC_ROUTES = {
	"GET /": documented(`${SERVICE.api}.v2Server`, {
		tag: "Open Inference Protocol",
		summary: "Server metadata",
		responses: { 200: ok("Name, version and the extensions served.", "OipServerMetadata") },
		errors: [429],
	}),
	"GET health/live": documented(`${SERVICE.api}.v2Live`, {
		tag: "Open Inference Protocol",
		summary: "Server live",
		responses: { 200: ok("The server is live.", "OipServerLive") },
		errors: [429],
	}),
	"GET health/ready": documented(`${SERVICE.api}.v2Ready`, {
		tag: "Open Inference Protocol",
		summary: "Server ready",
		responses: { 200: ok("Whether the server can serve inference.", "OipServerReady") },
		errors: [429],
	}),
};

/** `/v2/models`, for the caller's tenant. */
export const OIP_MODEL_ROUTES = {
	// Before ":model": `stats` is the statistics of every model, not a model.
	"GET stats": documented(`${SERVICE.api}.v2Stats`, {
		...STATS,
		summary: "Statistics of every model",
	}),
	"GET :model/stats": documented(`${SERVICE.api}.v2Stats`, {
		...STATS,
		summary: "Statistics of a model",
	}),
	"GET :model/versions/:version/stats": documented(`${SERVICE.api}.v2Stats`, {
		...STATS,
		summary: "Statistics of a version",
	}),
	"GET :model/config": documented(`${SERVICE.api}.v2ModelConfig`, {
		...CONFIG,
		summary: "Model configuration",
	}),
	"GET :model/versions/:version/config": documented(`${SERVICE.api}.v2ModelConfig`, {
		...CONFIG,
		summary: "Model configuration of a version",
	}),
	"GET :model": documented(`${SERVICE.api}.v2Model`, { ...METADATA, summary: "Model metadata" }),
	"GET :model/versions/:version": documented(`${SERVICE.api}.v2Model`, {
		...METADATA,
		summary: "Model metadata of a version",
	}),
	"GET :model/ready": documented(`${SERVICE.api}.v2ModelReady`, {
		...READY,
		summary: "Model ready",
	}),
	"GET :model/versions/:version/ready": documented(`${SERVICE.api}.v2ModelReady`, {
		...READY,
		summary: "Version ready",
	}),
	"POST :model/infer": documented(`stream:${SERVICE.api}.v2Infer`, {
		...INFER,
		summary: "Inference",
	}),
	"POST :model/versions/:version/infer": documented(`stream:${SERVICE.api}.v2Infer`, {
		...INFER,
		summary: "Inference with a version",
	}),
};

const REPOSITORY_BODY = (description: string) => ({
	description,
	content: { "application/json": { type: "object" } },
});

/** `/v2/repository`: Triton's model repository extension. */
export const REPOSITORY_ROUTES = {
	"POST index": documented(`stream:${SERVICE.api}.repositoryIndex`, {
		tag: "Model repository",
		summary: "Repository index",
		requestBody: REPOSITORY_BODY(
			"`{ready: true}` lists only the ready versions; may be empty.",
		),
		responses: { 200: ok("Every version and its state.", "RepositoryIndex") },
	}),
	"POST models/:model/load": documented(`stream:${SERVICE.api}.repositoryLoad`, {
		tag: "Model repository",
		summary: "Load a model",
		requestBody: REPOSITORY_BODY("Optional `parameters`: `config` and `file:` overrides."),
		responses: { 200: json("Loaded: the model's state.", { type: "object" }) },
		errors: [404, 409, 413],
	}),
	"POST models/:model/unload": documented(`stream:${SERVICE.api}.repositoryUnload`, {
		tag: "Model repository",
		summary: "Unload a model",
		requestBody: REPOSITORY_BODY("Optional `parameters.unload_dependents`."),
		responses: { 200: json("Unloaded: the model's state.", { type: "object" }) },
		errors: [404],
	}),
};
