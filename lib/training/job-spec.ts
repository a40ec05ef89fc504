/**
 * A training job as a client submits it, checked once against a compiled fastest-validator
 * schema plus the cross-field rules a schema cannot say, then completed with defaults. Every
 * refusal is a 400 (InvalidInputError) whose message and `data.field` name the field.
 *
 *     const spec = validateJobSpec(params);   // a JobSpec with every field filled in
 */
import Validator, { type ValidationError } from "fastest-validator";
import { compileNullAbsent } from "../validation/null-absent-check";
import { checkSplitFractions, type SplitFractions } from "../datasets/dataset-split";
import { InvalidInputError } from "../errors";

export const TASKS = ["classification", "regression"] as const;
export type Task = (typeof TASKS)[number];

export const ACTIVATIONS = [
	"relu",
	"tanh",
	"sigmoid",
	"linear",
	"elu",
	"selu",
	"softplus",
] as const;
export type Activation = (typeof ACTIVATIONS)[number];

export const OPTIMIZERS = ["sgd", "adam", "rmsprop"] as const;
export type OptimizerName = (typeof OPTIMIZERS)[number];

/** What early stopping may watch: the training or validation loss and the task's metric. */
export const MONITORS = ["val_loss", "val_accuracy", "val_mae", "loss", "accuracy", "mae"] as const;
export type Monitor = (typeof MONITORS)[number];

/** Metrics an acceptance threshold may name, per task (the names of lib/training/metrics.ts). */
export const TASK_METRICS = {
	classification: ["accuracy", "precision", "recall", "f1", "auc"],
	regression: ["mse", "mae", "r2"],
} as const satisfies Record<Task, readonly string[]>;
export type MetricName = (typeof TASK_METRICS)[Task][number];
const METRIC_NAMES: readonly MetricName[] = [
	...TASK_METRICS.classification,
	...TASK_METRICS.regression,
];

export interface DenseLayerSpec {
	units: number;
	activation: Activation;
	/** Dropout after the layer, while training only; 0 = none. */
	dropout: number;
}

export const PRESETS = {
	small: [{ units: 32, activation: "relu", dropout: 0 }],
	medium: [
		{ units: 64, activation: "relu", dropout: 0 },
		{ units: 32, activation: "relu", dropout: 0 },
	],
	large: [
		{ units: 128, activation: "relu", dropout: 0.2 },
		{ units: 64, activation: "relu", dropout: 0.2 },
	],
} as const satisfies Record<string, readonly DenseLayerSpec[]>;
export type Preset = keyof typeof PRESETS;

export interface EarlyStoppingSpec {
	/** Default "val_loss" (or "loss" when there is no validation split). */
	monitor: Monitor;
	/** Epochs without improvement before stopping. Default 10. */
	patience: number;
	/** A change smaller than this is no improvement. Default 0. */
	minDelta: number;
	/** End with the weights of the best epoch rather than the last. Default true. */
	restoreBestWeights: boolean;
}

export interface Threshold {
	min?: number;
	max?: number;
}

/** A job with every field filled in. */
export interface JobSpec {
	/** The dataset's id or sha256, as the datasets endpoint named it. */
	dataset: string;
	labelColumn: string;
	/** Columns to learn from. Default null: every column but the label. */
	features: string[] | null;
	/** Default "classification". */
	task: Task;
	/** The hidden layers (the output layer follows from the task). Default: preset "small". */
	model: { layers: DenseLayerSpec[]; preset: Preset | null };
	/** Default "adam". */
	optimizer: OptimizerName;
	/** Default 0.01. */
	learningRate: number;
	/** Default 50. */
	epochs: number;
	/** Default 32. */
	batchSize: number;
	/** Default null: train every epoch. */
	earlyStopping: EarlyStoppingSpec | null;
	/** Save a checkpoint every this many epochs; 0 = never. Default 5. */
	checkpointEvery: number;
	/** Default { gpu: false, memoryBytes: null }. */
	resources: { gpu: boolean; memoryBytes: number | null };
	/** Higher runs first; ties in submission order. Default 0. */
	priority: number;
	/** Seeds the split, the weights, the shuffling and dropout. Default: a random one, recorded. */
	seed: number;
	/** Default { train: 0.7, validation: 0.15, test: 0.15 }. */
	split: SplitFractions;
	/** Metrics on the test split a version must meet to be Validated. Default {}. */
	acceptance: Partial<Record<MetricName, Threshold>>;
	/** Give up after this many ms from submission. Default null: no deadline. */
	deadlineMs: number | null;
	/**
	 * Data-parallel training: trainers (on as many nodes) that train replicas on shards of each
	 * batch and average their gradients every step. Default 1.
	 */
	workers: number;
	/**
	 * False: train and report, but register no version (a study's trial segments; the study
	 * registers its best trial). Absent: register.
	 */
	register?: boolean;
}

export const JOB_SPEC_DEFAULTS = Object.freeze({
	task: "classification" as Task,
	preset: "small" as Preset,
	optimizer: "adam" as OptimizerName,
	learningRate: 0.01,
	epochs: 50,
	batchSize: 32,
	checkpointEvery: 5,
	priority: 0,
	split: Object.freeze({ train: 0.7, validation: 0.15, test: 0.15 }),
	earlyStopping: Object.freeze({ patience: 10, minDelta: 0, restoreBestWeights: true }),
});

/** The most trainers one data-parallel job may ask for. */
export const MAX_WORKERS = 64;

const int = (min: number, max: number) => ({ type: "number", integer: true, min, max });
const optional = <T extends object>(rule: T) => ({ ...rule, optional: true });
const fraction = { type: "number", min: 0, max: 1 };
const threshold = optional({
	type: "object",
	strict: true,
	props: { min: optional({ type: "number" }), max: optional({ type: "number" }) },
});

/** The fastest-validator schema of a job spec; usable as a Moleculer action's `params` too. */
export const JOB_SPEC_RULE = {
	$$strict: true,
	dataset: { type: "string", min: 1, max: 256 },
	labelColumn: { type: "string", min: 1, max: 256 },
	features: optional({
		type: "array",
		min: 1,
		max: 10_000,
		unique: true,
		items: { type: "string", min: 1, max: 256 },
	}),
	task: optional({ type: "enum", values: [...TASKS] }),
	model: optional({
		type: "object",
		strict: true,
		props: {
			layers: optional({
				type: "array",
				min: 1,
				max: 16,
				items: {
					type: "object",
					strict: true,
					props: {
						units: int(1, 4096),
						activation: optional({ type: "enum", values: [...ACTIVATIONS] }),
						dropout: optional({ type: "number", min: 0, max: 0.9 }),
					},
				},
			}),
			preset: optional({ type: "enum", values: Object.keys(PRESETS) }),
		},
	}),
	optimizer: optional({ type: "enum", values: [...OPTIMIZERS] }),
	learningRate: optional({ type: "number", positive: true, max: 10 }),
	epochs: optional(int(1, 10_000)),
	batchSize: optional(int(1, 65_536)),
	earlyStopping: optional({
		type: "object",
		strict: true,
		props: {
			monitor: optional({ type: "enum", values: [...MONITORS] }),
			patience: optional(int(0, 10_000)),
			minDelta: optional({ type: "number", min: 0 }),
			restoreBestWeights: optional({ type: "boolean" }),
		},
	}),
	checkpointEvery: optional(int(0, 10_000)),
	resources: optional({
		type: "object",
		strict: true,
		props: {
			gpu: optional({ type: "boolean" }),
			memoryBytes: optional({ type: "number", integer: true, positive: true }),
		},
	}),
	priority: optional(int(-1_000_000, 1_000_000)),
	seed: optional(int(0, 2 ** 32 - 1)),
	split: optional({
		type: "object",
		strict: true,
		props: { train: fraction, validation: fraction, test: fraction },
	}),
	acceptance: optional({
		type: "object",
		strict: true,
		props: Object.fromEntries(METRIC_NAMES.map(name => [name, threshold])),
	}),
	deadlineMs: optional(int(1, 365 * 24 * 3600 * 1000)),
	workers: optional(int(1, MAX_WORKERS)),
	register: optional({ type: "boolean" }),
} as const;

// An optional field sent as null is left out, as for every action's parameters.
const check = compileNullAbsent(new Validator({ haltOnFirstError: false }), JOB_SPEC_RULE);

function describe(error: ValidationError): { field: string; message: string } {
	const field = error.field || "spec";
	if (error.type === "objectStrict")
		return { field, message: `${field}: unknown field(s) ${String(error.actual)}` };
	if (error.type === "enumValue")
		return {
			field,
			message: `${field} must be one of ${String(error.expected)}; got ${JSON.stringify(error.actual)}`,
		};
	return { field, message: (error.message ?? `${field}: ${error.type}`).replace(/\.$/, "") };
}

function fail(field: string, message: string): never {
	throw new InvalidInputError(`Invalid training job: ${field}: ${message}`, { field });
}

/** What a client may send: any subset of JobSpec's fields, layers without defaults. */
export type JobSpecInput = Record<string, unknown>;

/** A client's spec once the schema has checked every type: what follows reads them as such. */
type RawJobSpec = Partial<Omit<JobSpec, "model" | "earlyStopping">> & {
	model?: { layers?: Partial<DenseLayerSpec>[]; preset?: Preset };
	earlyStopping?: Partial<EarlyStoppingSpec>;
};

/** Throws 400 with every schema violation at once; the input as a raw spec when none. */
function checkSchema(input: unknown): RawJobSpec {
	if (input === null || typeof input !== "object" || Array.isArray(input))
		throw new InvalidInputError("Invalid training job: expected a JSON object.", {
			field: "spec",
		});
	const checked = structuredClone(input) as Record<string, unknown>;
	const result = check(checked);
	if (result !== true) {
		const problems = (result as ValidationError[]).map(describe);
		throw new InvalidInputError(
			`Invalid training job: ${problems.map(p => p.message).join("; ")}`,
			{ field: problems[0].field, errors: problems },
		);
	}
	return checked as RawJobSpec;
}

/** The network: the given layers (with their defaults) or a preset's. */
function modelOf(raw: RawJobSpec): JobSpec["model"] {
	if (raw.model?.layers && raw.model.preset)
		fail("model", "give either layers or a preset, not both");
	const preset = raw.model?.layers ? null : (raw.model?.preset ?? JOB_SPEC_DEFAULTS.preset);
	const layers = (raw.model?.layers ?? PRESETS[preset as Preset]).map(layer => ({
		units: layer.units as number,
		activation: layer.activation ?? "relu",
		dropout: layer.dropout ?? 0,
	}));
	return { layers, preset };
}

/** Early stopping with its defaults, its monitor checked against the split and the task. */
function earlyStoppingOf(
	given: Partial<EarlyStoppingSpec>,
	split: { validation: number },
	task: JobSpec["task"],
): EarlyStoppingSpec {
	const monitor = given.monitor ?? (split.validation > 0 ? "val_loss" : "loss");
	if (monitor.startsWith("val_") && !(split.validation > 0))
		fail("earlyStopping.monitor", `${monitor} needs a validation split above 0`);
	if (/accuracy$/.test(monitor) && task !== "classification")
		fail("earlyStopping.monitor", `${monitor} is for classification; use val_loss or val_mae`);
	if (/mae$/.test(monitor) && task !== "regression")
		fail("earlyStopping.monitor", `${monitor} is for regression; use val_loss or val_accuracy`);
	return {
		monitor,
		patience: given.patience ?? JOB_SPEC_DEFAULTS.earlyStopping.patience,
		minDelta: given.minDelta ?? JOB_SPEC_DEFAULTS.earlyStopping.minDelta,
		restoreBestWeights:
			given.restoreBestWeights ?? JOB_SPEC_DEFAULTS.earlyStopping.restoreBestWeights,
	};
}

/** Each acceptance threshold names a metric of the task and a non-empty range. */
function checkAcceptanceThresholds(
	acceptance: Partial<Record<MetricName, Threshold>>,
	task: JobSpec["task"],
): void {
	for (const [metric, bounds] of Object.entries(acceptance) as [MetricName, Threshold][]) {
		if (!(TASK_METRICS[task] as readonly string[]).includes(metric))
			fail(
				`acceptance.${metric}`,
				`not a ${task} metric; use ${TASK_METRICS[task].join(", ")}`,
			);
		if (bounds.min === undefined && bounds.max === undefined)
			fail(`acceptance.${metric}`, "give min, max or both");
		if (bounds.min !== undefined && bounds.max !== undefined && bounds.min > bounds.max)
			fail(`acceptance.${metric}`, `min ${bounds.min} is above max ${bounds.max}`);
	}
}

/** Checks and completes a job spec; see the module comment. Does not change `input`. */
export function validateJobSpec(
	input: unknown,
	randomSeed: () => number = () => Math.floor(Math.random() * 2 ** 31),
): JobSpec {
	const raw = checkSchema(input);
	const task = raw.task ?? JOB_SPEC_DEFAULTS.task;
	const model = modelOf(raw);
	const split = { ...(raw.split ?? JOB_SPEC_DEFAULTS.split) };
	checkSplitFractions(split, "split");
	const earlyStopping = raw.earlyStopping
		? earlyStoppingOf(raw.earlyStopping, split, task)
		: null;
	const acceptance = { ...(raw.acceptance ?? {}) };
	checkAcceptanceThresholds(acceptance, task);
	if (raw.features?.includes(raw.labelColumn as string))
		fail("features", `the label column '${raw.labelColumn}' cannot also be a feature`);

	return {
		dataset: raw.dataset as string,
		labelColumn: raw.labelColumn as string,
		features: raw.features ? [...raw.features] : null,
		task,
		model,
		optimizer: raw.optimizer ?? JOB_SPEC_DEFAULTS.optimizer,
		learningRate: raw.learningRate ?? JOB_SPEC_DEFAULTS.learningRate,
		epochs: raw.epochs ?? JOB_SPEC_DEFAULTS.epochs,
		batchSize: raw.batchSize ?? JOB_SPEC_DEFAULTS.batchSize,
		earlyStopping,
		checkpointEvery: raw.checkpointEvery ?? JOB_SPEC_DEFAULTS.checkpointEvery,
		resources: {
			gpu: raw.resources?.gpu ?? false,
			memoryBytes: raw.resources?.memoryBytes ?? null,
		},
		priority: raw.priority ?? JOB_SPEC_DEFAULTS.priority,
		seed: raw.seed ?? randomSeed(),
		split,
		acceptance,
		deadlineMs: raw.deadlineMs ?? null,
		workers: raw.workers ?? 1,
		...(raw.register === false ? { register: false } : {}),
	};
}
