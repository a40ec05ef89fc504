/**
 * What a version carries besides its file: schema, pipelines, labels, metrics, lineage and
 * resource hints. The fastest-validator rules here are the registry actions' own param
 * schemas; `checkVersionSpec` adds the checks a rule cannot express (lengths that must agree).
 */
import { InvalidInputError } from "../errors";
import { OIP_DATATYPES, type ModelSchema, type TensorSpec } from "./model-schema";

export const TENSOR_SPEC_RULE = {
	type: "object",
	strict: true,
	props: {
		name: { type: "string", min: 1, max: 256 },
		datatype: { type: "enum", values: [...OIP_DATATYPES] },
		shape: { type: "array", items: { type: "number", integer: true, min: -1 }, max: 16 },
		features: {
			type: "array",
			optional: true,
			items: {
				type: "object",
				strict: true,
				props: {
					name: { type: "string", min: 1, max: 256 },
					min: { type: "number", optional: true },
					max: { type: "number", optional: true },
					categories: {
						type: "array",
						optional: true,
						min: 1,
						items: { type: "multi", rules: [{ type: "string" }, { type: "number" }] },
					},
				},
			},
		},
	},
} as const;

export const MODEL_SCHEMA_RULE = {
	type: "object",
	strict: true,
	props: {
		inputs: { type: "array", min: 1, max: 64, items: TENSOR_SPEC_RULE },
		outputs: { type: "array", min: 1, max: 64, items: TENSOR_SPEC_RULE },
	},
} as const;

export const PRE_STEPS = ["standardize", "minmax", "one-hot", "impute", "clip"] as const;
export const POST_STEPS = ["softmax", "sigmoid", "threshold", "argmax", "top-k"] as const;

export type PreStep =
	| { type: "standardize"; mean: number[]; std: number[] }
	| { type: "minmax"; min: number[]; max: number[] }
	| { type: "one-hot"; feature: number; categories: (string | number)[] }
	| { type: "impute"; strategy: "mean" | "constant"; values: number[] }
	| { type: "clip"; min: number; max: number };

export type PostStep =
	| { type: "softmax" }
	| { type: "sigmoid" }
	| { type: "threshold"; value: number }
	| { type: "argmax" }
	| { type: "top-k"; k: number };

/** Pre- and post-processing the predictor applies around the model (executed there, validated here). */
export interface PipelineSpec {
	pre: PreStep[];
	post: PostStep[];
}

const STEP_RULE = (types: readonly string[]) => ({
	type: "array",
	optional: true,
	max: 32,
	items: { type: "object", props: { type: { type: "enum", values: [...types] } } },
});

export const PIPELINE_RULE = {
	type: "object",
	optional: true,
	strict: true,
	props: { pre: STEP_RULE(PRE_STEPS), post: STEP_RULE(POST_STEPS) },
} as const;

export const KNOWN_METRICS = [
	"accuracy",
	"precision",
	"recall",
	"f1",
	"auc",
	"mse",
	"mae",
	"r2",
] as const;

export interface Metric {
	/** One of KNOWN_METRICS, or a custom name. */
	name: string;
	value: number;
	/** The data it was measured on. */
	dataset?: { name?: string; sha256?: string; split?: string };
}

export const METRICS_RULE = {
	type: "array",
	optional: true,
	max: 256,
	items: {
		type: "object",
		strict: true,
		props: {
			name: { type: "string", pattern: /^[A-Za-z][A-Za-z0-9_.:-]{0,63}$/ },
			value: { type: "number" },
			dataset: {
				type: "object",
				optional: true,
				strict: true,
				props: {
					name: { type: "string", optional: true, max: 256 },
					sha256: { type: "string", optional: true, pattern: /^[0-9a-f]{64}$/ },
					split: { type: "string", optional: true, max: 64 },
				},
			},
		},
	},
} as const;

/** How a version was made. `createdByKey` is set by the registry, never by the client. */
export interface Lineage {
	trainingJob?: string;
	datasetSha256?: string;
	parentVersion?: string;
	hyperparameters?: Record<string, unknown>;
	seed?: number;
	createdByKey?: string | null;
}

export const LINEAGE_RULE = {
	type: "object",
	optional: true,
	strict: true,
	props: {
		trainingJob: { type: "string", optional: true, max: 256 },
		datasetSha256: { type: "string", optional: true, pattern: /^[0-9a-f]{64}$/ },
		parentVersion: { type: "string", optional: true, max: 128 },
		hyperparameters: { type: "object", optional: true },
		seed: { type: "number", optional: true, integer: true },
	},
} as const;

export interface ResourceHints {
	memoryBytes?: number;
	gpu?: boolean;
	gpuMemoryBytes?: number;
}

export const RESOURCES_RULE = {
	type: "object",
	optional: true,
	strict: true,
	props: {
		memoryBytes: { type: "number", optional: true, integer: true, positive: true },
		gpu: { type: "boolean", optional: true },
		gpuMemoryBytes: { type: "number", optional: true, integer: true, positive: true },
	},
} as const;

export const LABELS_RULE = {
	type: "array",
	optional: true,
	max: 100_000,
	items: { type: "string", max: 256 },
} as const;

export interface VersionSpec {
	schema: ModelSchema;
	pipeline: PipelineSpec;
	labels: string[] | null;
	metrics: Metric[];
}

function fail(field: string, message: string): never {
	throw new InvalidInputError(`${field}: ${message}`, { field });
}

function checkTensor(spec: TensorSpec, field: string): void {
	if (spec.features && spec.shape.length > 0) {
		const last = spec.shape[spec.shape.length - 1];
		if (last !== -1 && last !== spec.features.length) {
			fail(
				`${field}.features`,
				`${spec.features.length} features given but the last dimension is ${last}`,
			);
		}
	}
	spec.features?.forEach((feature, i) => {
		if (feature.min !== undefined && feature.max !== undefined && feature.min > feature.max) {
			fail(`${field}.features[${i}]`, `min ${feature.min} is above max ${feature.max}`);
		}
	});
}

function checkPreStep(step: Record<string, unknown>, field: string): void {
	const numbers = (key: string): number[] => {
		const value = step[key];
		if (
			!Array.isArray(value) ||
			value.length === 0 ||
			!value.every(v => typeof v === "number" && Number.isFinite(v))
		) {
			fail(`${field}.${key}`, "must be a non-empty array of finite numbers");
		}
		return value as number[];
	};
	switch (step.type) {
		case "standardize": {
			const [mean, std] = [numbers("mean"), numbers("std")];
			if (mean.length !== std.length)
				fail(field, `mean has ${mean.length} values but std has ${std.length}`);
			if (std.some(s => s <= 0)) fail(`${field}.std`, "every std must be above 0");
			break;
		}
		case "minmax": {
			const [min, max] = [numbers("min"), numbers("max")];
			if (min.length !== max.length)
				fail(field, `min has ${min.length} values but max has ${max.length}`);
			if (min.some((m, i) => m >= max[i])) fail(field, "every min must be below its max");
			break;
		}
		case "one-hot": {
			if (!Number.isInteger(step.feature) || (step.feature as number) < 0)
				fail(`${field}.feature`, "must be a column index ≥ 0");
			const categories = step.categories;
			if (!Array.isArray(categories) || categories.length === 0)
				fail(`${field}.categories`, "must list at least one category");
			if (new Set(categories).size !== categories.length)
				fail(`${field}.categories`, "must not repeat a category");
			break;
		}
		case "impute":
			if (step.strategy !== "mean" && step.strategy !== "constant")
				fail(`${field}.strategy`, "must be 'mean' or 'constant'");
			numbers("values");
			break;
		case "clip":
			if (
				typeof step.min !== "number" ||
				typeof step.max !== "number" ||
				step.min >= step.max
			) {
				fail(field, "needs numbers min < max");
			}
			break;
	}
}

function checkPostStep(step: Record<string, unknown>, field: string): void {
	if (
		step.type === "threshold" &&
		(typeof step.value !== "number" || !Number.isFinite(step.value))
	) {
		fail(`${field}.value`, "must be a finite number");
	}
	if (step.type === "top-k" && (!Number.isInteger(step.k) || (step.k as number) < 1)) {
		fail(`${field}.k`, "must be an integer ≥ 1");
	}
}

/** The checks rules cannot express; throws INVALID_INPUT naming the field. */
export function checkVersionSpec(spec: VersionSpec): void {
	spec.schema.inputs.forEach((t, i) => checkTensor(t, `schema.inputs[${i}]`));
	spec.schema.outputs.forEach((t, i) => checkTensor(t, `schema.outputs[${i}]`));
	for (const side of ["inputs", "outputs"] as const) {
		const names = spec.schema[side].map(t => t.name);
		if (new Set(names).size !== names.length)
			fail(`schema.${side}`, "tensor names must be unique");
	}
	spec.pipeline.pre.forEach((s, i) =>
		checkPreStep(s as unknown as Record<string, unknown>, `pipeline.pre[${i}]`),
	);
	spec.pipeline.post.forEach((s, i) =>
		checkPostStep(s as unknown as Record<string, unknown>, `pipeline.post[${i}]`),
	);
	const names = spec.metrics.map(
		m => `${m.name}/${m.dataset?.split ?? ""}/${m.dataset?.name ?? ""}`,
	);
	if (new Set(names).size !== names.length)
		fail("metrics", "a metric is given twice for the same dataset");
}

/** How the predictor serves a version; every field falls back to the node's default. */
export interface ServingSpec {
	batching?: {
		enabled?: boolean;
		maxBatchSize?: number;
		maxQueueDelayMicros?: number;
		maxQueueSize?: number;
		preferredBatchSizes?: number[];
	};
}

export const SERVING_RULE = {
	type: "object",
	optional: true,
	strict: true,
	props: {
		batching: {
			type: "object",
			optional: true,
			strict: true,
			props: {
				enabled: { type: "boolean", optional: true },
				maxBatchSize: {
					type: "number",
					integer: true,
					min: 1,
					max: 65_536,
					optional: true,
				},
				maxQueueDelayMicros: {
					type: "number",
					integer: true,
					min: 0,
					max: 10_000_000,
					optional: true,
				},
				maxQueueSize: {
					type: "number",
					integer: true,
					min: 1,
					max: 1_000_000,
					optional: true,
				},
				preferredBatchSizes: {
					type: "array",
					optional: true,
					max: 16,
					items: { type: "number", integer: true, min: 1 },
				},
			},
		},
	},
} as const;
