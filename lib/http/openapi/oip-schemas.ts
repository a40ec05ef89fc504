/**
 * The Open Inference Protocol's request and response schemas, for the gateway's OpenAPI
 * document: the `/v2` operations reference these rather than a loose `{type: object}`.
 *
 * Taken from the Open Inference Protocol's REST specification,
 * kserve/open-inference-protocol `specification/protocol/open_inference_rest.yaml`
 * (Copyright 2023 The KServe Authors, Apache License 2.0; the copy the conformance test reads
 * is test/fixtures/open-inference/open_inference_rest.yaml). Changes: names in our style (the
 * spec's name is in `OIP_SPEC_NAMES`), `title`/`x-examples` dropped, one example kept as
 * OpenAPI 3.1 `examples`. test/unit/http/oip-schemas.test.ts compares them with the spec.
 */
import type { JsonSchema } from "../openapi";

const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });

/** Our name → the spec's (`components.schemas`). */
export const OIP_SPEC_NAMES: Readonly<Record<string, string>> = {
	OipServerMetadata: "metadata_server_response",
	OipModelMetadata: "metadata_model_response",
	OipMetadataTensor: "metadata_tensor",
	OipInferenceRequest: "inference_request",
	OipParameters: "parameters",
	OipRequestInput: "request_input",
	OipTensorData: "tensor_data",
	OipRequestOutput: "request_output",
	OipResponseOutput: "response_output",
	OipInferenceResponse: "inference_response",
	// The spec has three error bodies of this shape; this one says `error` is required.
	OipError: "metadata_model_error_response",
};

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
	/** The spec's error body (`metadata_model_error_response`; its infer and server ones are the same). */
	OipError: {
		type: "object",
		properties: { error: { type: "string" } },
		required: ["error"],
	},
};
