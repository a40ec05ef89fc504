/**
 * The Open Inference Protocol's request and response schemas, for the gateway's OpenAPI
 * document: the `/v2` operations reference these rather than a loose `{type: object}`.
 *
 * Taken from the Open Inference Protocol's REST specification,
 * kserve/open-inference-protocol `specification/protocol/open_inference_rest.yaml`
 * (Copyright 2023 The KServe Authors, Apache License 2.0; a copy is kept at
 * shared/specs/open_inference_rest.yaml). Changes: names prefixed `Oip` to sit beside ours,
 * `title`/`x-examples` dropped, and the examples kept as OpenAPI 3.1 `examples`.
 */
import type { JsonSchema } from "../openapi";

const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });

export const OIP_SCHEMAS: Readonly<Record<string, JsonSchema>> = {
	OipServerMetadata: {
		type: "object",
		properties: {
			name: { type: "string" },
			version: { type: "string" },
			extensions: { type: "array", items: { type: "string" } },
		},
		required: ["name", "version", "extensions"],
	},
	OipModelMetadata: {
		type: "object",
		properties: {
			name: { type: "string" },
			versions: { type: "array", items: { type: "string" } },
			platform: { type: "string" },
			inputs: { type: "array", items: ref("OipMetadataTensor") },
			outputs: { type: "array", items: ref("OipMetadataTensor") },
		},
		required: ["name", "platform"],
	},
	OipMetadataTensor: {
		type: "object",
		properties: {
			name: { type: "string" },
			datatype: { type: "string" },
			shape: { type: "array", items: { type: "integer" } },
		},
		required: ["name", "datatype", "shape"],
	},
	OipInferenceRequest: {
		type: "object",
		properties: {
			id: { type: "string" },
			parameters: ref("OipParameters"),
			inputs: { type: "array", items: ref("OipRequestInput") },
			outputs: { type: "array", items: ref("OipRequestOutput") },
		},
		required: ["inputs"],
		examples: [
			{
				id: "42",
				inputs: [
					{ name: "input0", shape: [2, 2], datatype: "UINT32", data: [1, 2, 3, 4] },
					{ name: "input1", shape: [3], datatype: "BOOL", data: [true] },
				],
				outputs: [{ name: "output0" }],
			},
		],
	},
	OipParameters: { type: "object" },
	OipRequestInput: {
		type: "object",
		properties: {
			name: { type: "string" },
			shape: { type: "array", items: { type: "integer" } },
			datatype: { type: "string" },
			parameters: ref("OipParameters"),
			data: ref("OipTensorData"),
		},
		required: ["name", "shape", "datatype", "data"],
	},
	OipTensorData: {
		type: "array",
		items: {
			anyOf: [
				ref("OipTensorData"),
				{ type: "number" },
				{ type: "string" },
				{ type: "boolean" },
			],
		},
	},
	OipRequestOutput: {
		type: "object",
		properties: { name: { type: "string" }, parameters: ref("OipParameters") },
		required: ["name"],
	},
	OipResponseOutput: {
		type: "object",
		properties: {
			name: { type: "string" },
			shape: { type: "array", items: { type: "integer" } },
			datatype: { type: "string" },
			parameters: ref("OipParameters"),
			data: ref("OipTensorData"),
		},
		required: ["name", "shape", "datatype", "data"],
	},
	OipInferenceResponse: {
		type: "object",
		properties: {
			model_name: { type: "string" },
			model_version: { type: "string" },
			id: { type: "string" },
			parameters: ref("OipParameters"),
			outputs: { type: "array", items: ref("OipResponseOutput") },
		},
		required: ["model_name", "outputs"],
	},
	/** The spec's `inference_error_response` (and its metadata error responses, the same shape). */
	OipError: {
		type: "object",
		properties: { error: { type: "string" } },
		required: ["error"],
	},
};
