/**
 * What a model version takes and gives, in Open Inference Protocol terms. Registered with each
 * version (from the model file where it holds it, or given), enforced later by the predictor.
 */

/** The tensor datatypes of the Open Inference Protocol. */
export const OIP_DATATYPES = [
	"BOOL",
	"UINT8",
	"UINT16",
	"UINT32",
	"UINT64",
	"INT8",
	"INT16",
	"INT32",
	"INT64",
	"FP16",
	"FP32",
	"FP64",
	"BYTES",
] as const;
export type OipDatatype = (typeof OIP_DATATYPES)[number];

/** One tabular feature inside an input tensor's last dimension. */
export interface FeatureSpec {
	name: string;
	min?: number;
	max?: number;
	/** For categorical features: the values it may take. */
	categories?: (string | number)[];
}

export interface TensorSpec {
	name: string;
	datatype: OipDatatype;
	/** -1 marks a dynamic dimension (usually the batch). */
	shape: number[];
	features?: FeatureSpec[];
}

export interface ModelSchema {
	inputs: TensorSpec[];
	outputs: TensorSpec[];
}

/** The runtime formats a version can hold. */
export const MODEL_FORMATS = ["onnx", "tfjs", "xgboost-json"] as const;
export type ModelFormat = (typeof MODEL_FORMATS)[number];
