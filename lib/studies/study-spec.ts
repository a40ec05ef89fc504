/**
 * A study as a client submits it (`POST /api/v1/studies`), checked once and completed with
 * defaults. Every refusal is a 400 whose message and `data.field` name the field.
 *
 *     { "target": "iris-mlp", "name": "lr-search",
 *       "base": { "dataset": "iris@1", "labelColumn": "label", "epochs": 18 },
 *       "space": { "learningRate": { "type": "loguniform", "min": 0.0005, "max": 0.1 } },
 *       "objective": { "metric": "val_accuracy", "direction": "max" },
 *       "budget": { "trials": 12 }, "parallelism": 2,
 *       "searcher": { "type": "asha", "minEpochs": 2, "reductionFactor": 3 }, "seed": 7 }
 */
import Validator, { type ValidationError } from "fastest-validator";
import { compileNullAbsent } from "../validation/null-absent-check";
import { InvalidInputError } from "../errors";
import { validateJobSpec, type JobSpec } from "../training/job-spec";
import { checkSearchSpace, type SearchSpace } from "./search-space";
import { ashaRungs } from "./searchers/asha";
import { gridSize } from "./searchers/grid";
import { TPE_DEFAULTS } from "./searchers/tpe";

export const SEARCHERS = ["random", "grid", "asha", "tpe"] as const;
export type SearcherName = (typeof SEARCHERS)[number];

/** Per-epoch metrics a study may optimise (what the trainer reports each epoch). */
export const OBJECTIVE_METRICS = [
	"val_accuracy",
	"val_loss",
	"val_mae",
	"accuracy",
	"loss",
	"mae",
] as const;

export interface StudySpec {
	name: string;
	target: string;
	/** The validated job spec every trial starts from (its `epochs`: a trial's most). */
	base: JobSpec;
	/** The client's base spec as given: parameters are written into it, then validated. */
	baseInput: Record<string, unknown>;
	space: SearchSpace;
	objective: { metric: (typeof OBJECTIVE_METRICS)[number]; direction: "max" | "min" };
	budget: { trials: number; totalEpochs: number | null; wallTimeMs: number | null };
	parallelism: number;
	searcher: {
		type: SearcherName;
		/** ASHA: epochs of rung 0, and 1 of η kept per rung. */
		minEpochs: number;
		reductionFactor: number;
		/** TPE: random trials before the model. */
		startupTrials: number;
	};
	/** Epoch at which each rung ends (one rung, the spec's epochs, unless ASHA). */
	rungs: number[];
	seed: number;
	/** Set this alias of the target model to the best version at the end. */
	promote: { alias: string } | null;
	tags: string[];
}

const int = (min: number, max: number) => ({ type: "number", integer: true, min, max });
const optional = <T extends object>(rule: T) => ({ ...rule, optional: true });
const TAGS_RULE = { type: "array", max: 32, items: { type: "string", min: 1, max: 64 } };
export { TAGS_RULE };

const domainRule = {
	type: "multi",
	rules: [
		{
			type: "object",
			strict: true,
			props: { type: { type: "equal", value: "uniform" }, min: "number", max: "number" },
		},
		{
			type: "object",
			strict: true,
			props: { type: { type: "equal", value: "loguniform" }, min: "number", max: "number" },
		},
		{
			type: "object",
			strict: true,
			props: {
				type: { type: "equal", value: "int" },
				min: "number",
				max: "number",
				step: optional({ type: "number" }),
			},
		},
		{
			type: "object",
			strict: true,
			props: {
				type: { type: "equal", value: "choice" },
				values: {
					type: "array",
					min: 1,
					max: 100,
					items: {
						type: "multi",
						rules: [
							{ type: "string", max: 64 },
							{ type: "number" },
							{ type: "boolean" },
						],
					},
				},
			},
		},
	],
};

export const STUDY_RULE = {
	$$strict: true,
	target: { type: "string", min: 1, max: 256 },
	name: optional({ type: "string", min: 1, max: 128 }),
	base: { type: "object" },
	space: { type: "record", key: { type: "string", min: 1, max: 64 }, value: domainRule },
	objective: {
		type: "object",
		strict: true,
		props: {
			metric: { type: "enum", values: [...OBJECTIVE_METRICS] },
			direction: optional({ type: "enum", values: ["max", "min"] }),
		},
	},
	budget: {
		type: "object",
		strict: true,
		props: {
			trials: int(1, 1000),
			totalEpochs: optional(int(1, 10_000_000)),
			wallTimeMs: optional(int(1000, 30 * 24 * 3600 * 1000)),
		},
	},
	parallelism: optional(int(1, 256)),
	searcher: optional({
		type: "object",
		strict: true,
		props: {
			type: { type: "enum", values: [...SEARCHERS] },
			minEpochs: optional(int(1, 10_000)),
			reductionFactor: optional(int(2, 16)),
			startupTrials: optional(int(1, 1000)),
		},
	}),
	seed: optional(int(0, 2 ** 32 - 1)),
	promote: optional({
		type: "object",
		strict: true,
		props: { alias: { type: "string", min: 1, max: 64, pattern: /^[a-z][a-z0-9-]*$/ } },
	}),
	tags: optional(TAGS_RULE),
} as const;

// An optional field sent as null is left out, as for every action's parameters.
const check = compileNullAbsent(new Validator({ haltOnFirstError: false }), STUDY_RULE);

function fail(field: string, message: string): never {
	throw new InvalidInputError(`Invalid study: ${field}: ${message}`, { field });
}

type RawStudy = {
	target: string;
	name?: string;
	base: Record<string, unknown>;
	space: SearchSpace;
	objective: { metric: StudySpec["objective"]["metric"]; direction?: "max" | "min" };
	budget: { trials: number; totalEpochs?: number; wallTimeMs?: number };
	parallelism?: number;
	searcher?: {
		type: SearcherName;
		minEpochs?: number;
		reductionFactor?: number;
		startupTrials?: number;
	};
	seed?: number;
	promote?: { alias: string };
	tags?: string[];
};

function checkSchema(input: unknown): RawStudy {
	if (input === null || typeof input !== "object" || Array.isArray(input))
		fail("study", "expected a JSON object");
	const checked = structuredClone(input) as Record<string, unknown>;
	const result = check(checked);
	if (result !== true) {
		const problems = (result as ValidationError[]).map(e => ({
			field: e.field || "study",
			message: (e.message ?? e.type).replace(/\.$/, ""),
		}));
		throw new InvalidInputError(`Invalid study: ${problems.map(p => p.message).join("; ")}`, {
			field: problems[0].field,
			errors: problems,
		});
	}
	return checked as RawStudy;
}

/** The metric must be one the task's trials report. */
function checkObjective(raw: RawStudy, base: JobSpec): StudySpec["objective"] {
	const { metric } = raw.objective;
	if (metric.startsWith("val_") && !(base.split.validation > 0))
		fail("objective.metric", `${metric} needs a validation split above 0`);
	if (/accuracy$/.test(metric) && base.task !== "classification")
		fail("objective.metric", `${metric} is for classification; use val_loss or val_mae`);
	if (/mae$/.test(metric) && base.task !== "regression")
		fail("objective.metric", `${metric} is for regression; use val_loss or val_accuracy`);
	return {
		metric,
		direction: raw.objective.direction ?? (/loss|mae/.test(metric) ? "min" : "max"),
	};
}

/** Checks and completes a study; `randomSeed` draws the seed when none is given. */
export function validateStudySpec(
	input: unknown,
	randomSeed: () => number = () => Math.floor(Math.random() * 2 ** 31),
): StudySpec {
	const raw = checkSchema(input);
	const seed = raw.seed ?? randomSeed();
	let base: JobSpec;
	try {
		// Every trial trains with the same seed (the base's, else the study's): only the searched fields differ.
		base = validateJobSpec(raw.base, () => seed);
	} catch (err) {
		if (!(err instanceof InvalidInputError)) throw err;
		throw new InvalidInputError(
			err.message.replace("Invalid training job:", "Invalid study: base:"),
			{
				field: `base.${String((err.data as { field?: string } | undefined)?.field ?? "")}`,
			},
		);
	}
	if (base.earlyStopping)
		fail("base.earlyStopping", "a study stops trials itself; remove earlyStopping");
	checkSearchSpace(raw.space, raw.base);
	const type = raw.searcher?.type ?? "random";
	const minEpochs = raw.searcher?.minEpochs ?? Math.max(1, Math.floor(base.epochs / 9));
	const reductionFactor = raw.searcher?.reductionFactor ?? 3;
	if (type === "asha" && minEpochs >= base.epochs)
		fail(
			"searcher.minEpochs",
			`must be below base.epochs (${base.epochs}) for ASHA to stop trials early`,
		);
	if (type === "grid" && gridSize(raw.space) > 100_000)
		fail("space", "the grid has more than 100000 points");
	const rungs =
		type === "asha" ? ashaRungs({ minEpochs, reductionFactor }, base.epochs) : [base.epochs];
	return {
		name: raw.name ?? `${raw.target}-${type}`,
		target: raw.target,
		base,
		baseInput: structuredClone(raw.base),
		space: raw.space,
		objective: checkObjective(raw, base),
		budget: {
			trials:
				type === "grid"
					? Math.min(raw.budget.trials, gridSize(raw.space))
					: raw.budget.trials,
			totalEpochs: raw.budget.totalEpochs ?? null,
			wallTimeMs: raw.budget.wallTimeMs ?? null,
		},
		parallelism: raw.parallelism ?? 2,
		searcher: {
			type,
			minEpochs,
			reductionFactor,
			startupTrials: raw.searcher?.startupTrials ?? TPE_DEFAULTS.startupTrials,
		},
		rungs,
		seed,
		promote: raw.promote ?? null,
		tags: raw.tags ?? [],
	};
}
