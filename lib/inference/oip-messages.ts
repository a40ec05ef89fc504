/**
 * The Open Inference Protocol's REST bodies as JSON
 * (test/fixtures/open-inference/open_inference_rest.yaml), plus the tabular `instances` form this
 * server also accepts. These are what the gateway receives and returns; inside the fleet the
 * predictor works on `Tensor`s.
 */
import type { OipDatatype } from "../model-spec/model-schema";
import type { TensorData } from "./tensor";

/** One value of `data`: a scalar or, for nested data, an array of them (row-major). */
export type OipScalar = number | string | boolean | null;
export type OipTensorData = (OipScalar | OipTensorData)[];

/**
 * Data that callers inside the fleet send as it is held (the transporter's CBOR keeps typed
 * arrays binary): flat row-major, in exactly the datatype's array (`TYPED_ARRAY_OF`).
 */
export type OipTypedTensorData = Exclude<TensorData, string[]>;

/** One input tensor of an inference request. */
export interface OipRequestInput {
	name: string;
	shape: number[];
	datatype: OipDatatype;
	/**
	 * Flat row-major, or nested arrays following the shape; from inside the fleet also a flat
	 * typed array of the datatype's own type, which the validator takes without copying.
	 */
	data: OipTensorData | OipTypedTensorData;
	parameters?: Record<string, unknown>;
}

/** One tabular row: features by name, or values in the schema's feature order. */
export type OipInstance = Record<string, OipScalar> | OipScalar[];

export interface OipInferenceRequest {
	id?: string;
	parameters?: Record<string, unknown>;
	/** Open Inference Protocol tensors; exactly one of `inputs` and `instances` is given. */
	inputs?: OipRequestInput[];
	/** Rows for the version's first (tabular) input. */
	instances?: OipInstance[];
	/** The outputs wanted; all when left out. */
	outputs?: { name: string; parameters?: Record<string, unknown> }[];
}

/** One output tensor of an inference response: always flat data. */
export interface OipResponseOutput {
	name: string;
	shape: number[];
	datatype: OipDatatype;
	data: (number | string | boolean | null)[];
	parameters?: Record<string, unknown>;
}

export interface OipInferenceResponse {
	model_name: string;
	model_version?: string;
	id?: string;
	parameters?: Record<string, unknown>;
	outputs: OipResponseOutput[];
}
