/**
 * Open Inference Protocol metadata (KServe v2 / Triton) from the registry's views. Platform
 * names follow Triton's where one exists.
 */
import type { ModelFormat } from "../model-spec/model-schema";
import type { VersionView } from "../registry/version-store";

export const OIP_PLATFORMS: Readonly<Record<ModelFormat, string>> = {
	onnx: "onnxruntime_onnx",
	tfjs: "tensorflow_js",
	"xgboost-json": "xgboost_json",
};

export interface OipTensorMetadata {
	name: string;
	datatype: string;
	shape: number[];
}

export interface OipModelMetadata {
	name: string;
	versions: string[];
	platform: string;
	inputs: OipTensorMetadata[];
	outputs: OipTensorMetadata[];
}

/** A version's metadata; `versions` lists the model's versions (or just this one). */
export function modelMetadata(version: VersionView, versions: readonly string[]): OipModelMetadata {
	const tensors = (list: VersionView["schema"]["inputs"]): OipTensorMetadata[] =>
		list.map(t => ({ name: t.name, datatype: t.datatype, shape: [...t.shape] }));
	return {
		name: version.model,
		versions: [...versions],
		platform: OIP_PLATFORMS[version.format],
		inputs: tensors(version.schema.inputs),
		outputs: tensors(version.schema.outputs),
	};
}
