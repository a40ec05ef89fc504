/**
 * Triton's model configuration (model_config.proto in its JSON form, as the `config` parameter
 * of a model repository load carries it), read for what modelfleet can honour: the backend
 * (→ the model file's format), `input`/`output` (→ the version's schema), `max_batch_size` and
 * `dynamic_batching` (→ batching) and a `version_policy` naming one version.
 */
import { InvalidInputError } from "../../errors";
import { parseClientJson } from "../../json-policy";
import type {
	ModelFormat,
	ModelSchema,
	OipDatatype,
	TensorSpec,
} from "../../model-spec/model-schema";

/** Batching settings from a config, in the predictor's terms. */
export interface ConfigBatching {
	enabled: boolean;
	maxBatchSize?: number;
	maxQueueDelayMicros?: number;
	maxQueueSize?: number;
	preferredBatchSizes?: number[];
}

export interface TritonLoadConfig {
	/** The format the backend runs; null when the config names no backend or platform. */
	format: ModelFormat | null;
	/** From `input` and `output`; null when the config gives neither. */
	schema: ModelSchema | null;
	/** From `max_batch_size` and `dynamic_batching`; null when the config leaves batching out. */
	batching: ConfigBatching | null;
	/** The one version `version_policy.specific` names; null for the latest. */
	version: string | null;
}

/** Triton's tensor data types and ours; TYPE_STRING is Triton's name for BYTES. */
const DATA_TYPES: Readonly<Record<string, OipDatatype>> = {
	TYPE_BOOL: "BOOL",
	TYPE_UINT8: "UINT8",
	TYPE_UINT16: "UINT16",
	TYPE_UINT32: "UINT32",
	TYPE_UINT64: "UINT64",
	TYPE_INT8: "INT8",
	TYPE_INT16: "INT16",
	TYPE_INT32: "INT32",
	TYPE_INT64: "INT64",
	TYPE_FP16: "FP16",
	TYPE_FP32: "FP32",
	TYPE_FP64: "FP64",
	TYPE_STRING: "BYTES",
};

/** What each served backend (or platform) names, as Triton spells it. */
const BACKENDS =
	"backend 'onnxruntime' (ONNX), 'fil' with parameters.model_type 'xgboost_json' (XGBoost JSON) or 'tfjs' (TF.js)";

const MAX_BATCH_SIZE = 65_536;
const MAX_QUEUE_DELAY_MICROS = 10_000_000;
const MAX_QUEUE_SIZE = 1_000_000;

function invalid(message: string): InvalidInputError {
	return new InvalidInputError(`Invalid model configuration: ${message}`, {
		field: "parameters.config",
	});
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
	return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** An integer as protobuf's JSON form writes it: a number, or (int64) a string of digits. */
function integer(value: unknown, where: string, min: number, max: number): number {
	const n =
		typeof value === "string" && /^-?\d{1,16}$/.test(value.trim())
			? Number(value.trim())
			: value;
	if (typeof n !== "number" || !Number.isInteger(n) || n < min || n > max)
		throw invalid(
			`${where} must be an integer from ${min} to ${max}; got ${JSON.stringify(value)}.`,
		);
	return n;
}

function optionalObject(config: Json, key: string): Json | null {
	const value = config[key];
	if (value === undefined || value === null) return null;
	if (!isObject(value)) throw invalid(`${key} must be an object.`);
	return value;
}

/** The format of the backend the config names; null when it names none. */
function formatOf(config: Json): ModelFormat | null {
	const backend = config.backend;
	const platform = config.platform;
	if (backend !== undefined && typeof backend !== "string")
		throw invalid("backend must be a string.");
	if (platform !== undefined && typeof platform !== "string")
		throw invalid("platform must be a string.");
	const name = backend || platform;
	if (!name) return null;
	if (name === "onnxruntime" || name === "onnxruntime_onnx") return "onnx";
	if (name === "tfjs" || name === "tensorflow_js") return "tfjs";
	if (name === "fil") {
		const parameters = optionalObject(config, "parameters");
		const modelType = parameters?.model_type;
		const value = isObject(modelType) ? modelType.string_value : undefined;
		if (value === "xgboost_json") return "xgboost-json";
		throw invalid(
			`the fil backend runs XGBoost JSON models here: set parameters.model_type.string_value to "xgboost_json" (got ${JSON.stringify(value ?? null)}).`,
		);
	}
	throw invalid(
		`${backend ? "backend" : "platform"} '${name}' is not served here; use ${BACKENDS}.`,
	);
}

function tensors(config: Json, key: "input" | "output", batched: boolean): TensorSpec[] | null {
	const list = config[key];
	if (list === undefined || list === null) return null;
	if (!Array.isArray(list) || list.length === 0)
		throw invalid(`${key} must be a non-empty array of tensors.`);
	return list.map((item: unknown, i): TensorSpec => {
		const where = `${key}[${i}]`;
		if (!isObject(item)) throw invalid(`${where} must be an object.`);
		const { name, data_type: dataType, dims } = item;
		if (typeof name !== "string" || name === "")
			throw invalid(`${where}.name must be a non-empty string.`);
		const datatype = typeof dataType === "string" ? DATA_TYPES[dataType] : undefined;
		if (datatype === undefined)
			throw invalid(
				`${where}.data_type ${JSON.stringify(dataType ?? null)} is not one of ${Object.keys(DATA_TYPES).join(", ")}.`,
			);
		if (!Array.isArray(dims)) throw invalid(`${where}.dims must be an array of integers.`);
		const shape = dims.map((d: unknown, j) => {
			const dim = integer(d, `${where}.dims[${j}]`, -1, 2 ** 31 - 1);
			if (dim === 0) throw invalid(`${where}.dims[${j}] must be -1 (any) or positive.`);
			return dim;
		});
		// With max_batch_size > 0 Triton leaves the batch dimension out of dims.
		return { name, datatype, shape: batched ? [-1, ...shape] : shape };
	});
}

function batchingOf(config: Json, maxBatchSize: number | null): ConfigBatching | null {
	const dynamic = optionalObject(config, "dynamic_batching");
	if (maxBatchSize === null) {
		if (dynamic !== null)
			throw invalid("dynamic_batching needs max_batch_size above 0 (the largest batch).");
		return null;
	}
	if (maxBatchSize === 0) {
		if (dynamic !== null)
			throw invalid("dynamic_batching needs max_batch_size above 0; 0 turns batching off.");
		return { enabled: false };
	}
	if (dynamic === null) return { enabled: false, maxBatchSize };
	const batching: ConfigBatching = { enabled: true, maxBatchSize };
	if (dynamic.max_queue_delay_microseconds !== undefined)
		batching.maxQueueDelayMicros = integer(
			dynamic.max_queue_delay_microseconds,
			"dynamic_batching.max_queue_delay_microseconds",
			0,
			MAX_QUEUE_DELAY_MICROS,
		);
	const preferred = dynamic.preferred_batch_size;
	if (preferred !== undefined) {
		if (!Array.isArray(preferred) || preferred.length > 16)
			throw invalid(
				"dynamic_batching.preferred_batch_size must be an array of up to 16 integers.",
			);
		batching.preferredBatchSizes = preferred.map((size: unknown, i) =>
			integer(size, `dynamic_batching.preferred_batch_size[${i}]`, 1, maxBatchSize),
		);
	}
	const policy = optionalObject(dynamic, "default_queue_policy");
	if (policy?.max_queue_size !== undefined) {
		const size = integer(
			policy.max_queue_size,
			"dynamic_batching.default_queue_policy.max_queue_size",
			0,
			MAX_QUEUE_SIZE,
		);
		// Triton's 0 means unbounded; ours is bounded, so 0 keeps the node's default.
		if (size > 0) batching.maxQueueSize = size;
	}
	return batching;
}

function versionOf(config: Json): string | null {
	const policy = optionalObject(config, "version_policy");
	if (policy === null) return null;
	const specific = policy.specific;
	if (specific === undefined) return null;
	const versions = isObject(specific) ? specific.versions : undefined;
	if (!Array.isArray(versions) || versions.length !== 1)
		throw invalid(
			"version_policy.specific.versions must name one version: a deployment here serves one (split traffic through /api/v1/deployments).",
		);
	return `${integer(versions[0], "version_policy.specific.versions[0]", 0, Number.MAX_SAFE_INTEGER)}.0.0`;
}

/**
 * Reads a load's `config` parameter: a JSON string (as Triton takes it) or an object.
 * @param model the model the load is for; a config naming another answers 400
 * @throws InvalidInputError (400) naming the field that is wrong and what it takes
 */
export function parseTritonConfig(value: unknown, model: string): TritonLoadConfig {
	let config: unknown = value;
	if (typeof value === "string") {
		config = parseClientJson(value, {
			what: "The config parameter",
			syntaxError: reason => invalid(`it is not valid JSON (${reason}).`),
		});
	}
	if (!isObject(config))
		throw invalid("give it as a JSON object (a string holding one, as Triton takes it).");
	if (config.name !== undefined && config.name !== "" && config.name !== model)
		throw invalid(`name '${String(config.name)}' is not the model loaded ('${model}').`);
	const maxBatchSize =
		config.max_batch_size === undefined
			? null
			: integer(config.max_batch_size, "max_batch_size", 0, MAX_BATCH_SIZE);
	const batched = maxBatchSize !== null && maxBatchSize > 0;
	const inputs = tensors(config, "input", batched);
	const outputs = tensors(config, "output", batched);
	if ((inputs === null) !== (outputs === null))
		throw invalid("give both input and output (the schema), or neither.");
	return {
		format: formatOf(config),
		schema: inputs && outputs ? { inputs, outputs } : null,
		batching: batchingOf(config, maxBatchSize),
		version: versionOf(config),
	};
}
