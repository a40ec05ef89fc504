/**
 * Triton's model configuration extension (`GET /v2/models/{m}[/versions/{v}]/config`): a
 * version as Triton's ModelConfig JSON (model_config.proto), what tritonclient's
 * `get_model_config` and perf_analyzer read — the platform and backend, `max_batch_size`,
 * `input`/`output` with Triton's `TYPE_*` data types and dims (without the batch dimension
 * when the model batches), and `dynamic_batching` from the version's batching settings over
 * the defaults. It reads back through a repository load's `config` parameter
 * (model-repository/triton-model-config.ts) to the same schema and batching.
 */
import { DEFAULT_BATCHING_OPTIONS } from "../batching/batching-options";
import type { ModelFormat, OipDatatype, TensorSpec } from "../model-spec/model-schema";
import type { VersionView } from "../registry/version-store";
import { OIP_PLATFORMS } from "./oip-metadata";

/** Triton's name of each datatype: TYPE_ and ours, but TYPE_STRING for BYTES. */
export function tritonDataType(datatype: OipDatatype): string {
	return datatype === "BYTES" ? "TYPE_STRING" : `TYPE_${datatype}`;
}

const BACKENDS: Readonly<Record<ModelFormat, string>> = {
	onnx: "onnxruntime",
	tfjs: "tfjs",
	"xgboost-json": "fil",
};

export interface TritonModelConfig {
	name: string;
	platform: string;
	backend: string;
	version_policy: { latest: { num_versions: 1 } };
	max_batch_size: number;
	input: {
		name: string;
		data_type: string;
		format: "FORMAT_NONE";
		dims: number[];
		is_shape_tensor: false;
		allow_ragged_batch: false;
		optional: false;
	}[];
	output: {
		name: string;
		data_type: string;
		dims: number[];
		label_filename: string;
		is_shape_tensor: false;
	}[];
	dynamic_batching?: {
		preferred_batch_size: number[];
		max_queue_delay_microseconds: number;
		preserve_ordering: false;
		default_queue_policy: { max_queue_size: number };
	};
	instance_group: { name: string; kind: "KIND_AUTO"; count: number }[];
	parameters: Record<string, { string_value: string }>;
}

/** Whether every tensor's first dimension is the batch (-1): Triton's max_batch_size > 0. */
function batches(tensors: readonly TensorSpec[]): boolean {
	return tensors.length > 0 && tensors.every(t => t.shape.length > 0 && t.shape[0] === -1);
}

/** The version's configuration; see the module comment. */
export function tritonModelConfig(version: VersionView): TritonModelConfig {
	const { schema } = version;
	const own = version.serving?.batching ?? {};
	const batching = { ...DEFAULT_BATCHING_OPTIONS, ...own };
	const batched = batches(schema.inputs) && batches(schema.outputs);
	const maxBatchSize = batched ? batching.maxBatchSize : 0;
	const dims = (t: TensorSpec) => (batched ? t.shape.slice(1) : [...t.shape]);
	const config: TritonModelConfig = {
		name: version.model,
		platform: OIP_PLATFORMS[version.format],
		backend: BACKENDS[version.format],
		// Triton numbers versions; ours are semver: the config is the one version asked for.
		version_policy: { latest: { num_versions: 1 } },
		max_batch_size: maxBatchSize,
		input: schema.inputs.map(t => ({
			name: t.name,
			data_type: tritonDataType(t.datatype),
			format: "FORMAT_NONE",
			dims: dims(t),
			is_shape_tensor: false,
			allow_ragged_batch: false,
			optional: false,
		})),
		output: schema.outputs.map(t => ({
			name: t.name,
			data_type: tritonDataType(t.datatype),
			dims: dims(t),
			label_filename: "",
			is_shape_tensor: false,
		})),
		instance_group: [
			{ name: version.model, kind: "KIND_AUTO", count: batching.maxConcurrentBatches },
		],
		parameters:
			version.format === "xgboost-json"
				? { model_type: { string_value: "xgboost_json" } }
				: {},
	};
	if (maxBatchSize > 0 && batching.enabled)
		config.dynamic_batching = {
			preferred_batch_size: [...batching.preferredBatchSizes],
			max_queue_delay_microseconds: batching.maxQueueDelayMicros,
			preserve_ordering: false,
			default_queue_policy: { max_queue_size: batching.maxQueueSize },
		};
	return config;
}
