/**
 * Global importance of a served version against a named dataset (for versions that were not
 * trained here, e.g. imported files): permutation importance (permutation-importance.ts) of
 * the input columns as the client sends them, through the version's own pipeline and runtime
 * (pre-processing is part of the measured model), batched through its queue under the
 * request's deadline. The score is the first floating-point output: argmax (or ≥ 0.5 for one
 * column: the probability of class 1) against the labels for a classifier, the value against
 * the target for a regression.
 */
import { DeadlineExceededError, InvalidInputError } from "../errors";
import type { Tensor, TensorData } from "../inference/tensor";
import type { ServedModel } from "../predictor/served-model";
import type { VersionView } from "../registry/version-store";
import type { LabelledRows } from "./dataset-rows";
import { MAX_BATCH_VALUES } from "./explain-model";
import {
	IMPORTANCE_METRICS,
	permutationImportance,
	predictedClasses,
	type ImportanceMetric,
	type RowMajor,
} from "./permutation-importance";
import type { VersionImportance } from "./trained-importance";

export interface VersionImportanceParams {
	/** The labelled dataset: `name`, `name@N`, id or sha256. */
	dataset: string;
	/** The column with the true labels; default the dataset's label column. */
	labelColumn?: string;
	/** Rows drawn from the dataset (seeded); default 1,000. */
	rows?: number;
	/** Shuffles per feature; default 5. */
	repeats?: number;
	seed?: number;
	/** Default: accuracy for a classification model, rmse otherwise. */
	metric?: ImportanceMetric;
}

export interface VersionImportanceContext {
	model: ServedModel;
	version: VersionView;
	/** The model's task (registry models.get). */
	task: string;
	deadline?: number;
	loadRows(source: {
		dataset: string;
		rows: number;
		seed: number;
		labelColumn: string | null;
	}): Promise<LabelledRows>;
}

export const DEFAULT_IMPORTANCE_ROWS = 1000;

/** The true class index of each label: by the version's labels, or as an index. */
function classIndices(
	labels: readonly (number | string | null)[],
	version: VersionView,
): Int32Array {
	const known = version.labels;
	return Int32Array.from(labels, (label, row) => {
		const byName = known?.indexOf(String(label)) ?? -1;
		if (byName >= 0) return byName;
		const n = typeof label === "number" ? label : Number(label);
		if (label !== null && label !== "" && Number.isInteger(n) && n >= 0) return n;
		throw new InvalidInputError(
			`Row ${row}'s label ${JSON.stringify(label)} is not one of ${version.ref}'s classes${
				known ? ` (${known.slice(0, 20).join(", ")})` : ""
			} nor a class index.`,
			{ where: "labelColumn" },
		);
	});
}

function targetValues(labels: readonly (number | string | null)[]): Float64Array {
	return Float64Array.from(labels, (label, row) => {
		const n = typeof label === "number" ? label : Number(label);
		if (label === null || label === "" || !Number.isFinite(n))
			throw new InvalidInputError(
				`Row ${row}'s target ${JSON.stringify(label)} is not a number; a regression is scored by rmse or mae against numeric targets.`,
				{ where: "labelColumn" },
			);
		return n;
	});
}

/** See the module comment. */
export async function versionImportance(
	context: VersionImportanceContext,
	params: VersionImportanceParams,
): Promise<VersionImportance> {
	const { model, version, deadline } = context;
	const seed = params.seed ?? 0;
	const repeats = params.repeats ?? 5;
	const metric = params.metric ?? (context.task === "classification" ? "accuracy" : "rmse");
	const loaded = await context.loadRows({
		dataset: params.dataset,
		rows: params.rows ?? DEFAULT_IMPORTANCE_ROWS,
		seed,
		labelColumn: params.labelColumn ?? null,
	});
	const decoded = model.decode({ instances: loaded.instances });
	const [x] = decoded.inputs;
	if (decoded.inputs.length !== 1 || x.shape.length !== 2)
		throw new InvalidInputError(
			`Permutation importance needs a tabular model: one input shaped [rows, features]; ${version.ref} takes ${decoded.inputs.length} input(s).`,
		);
	const rows = decoded.rows;
	const width = x.shape[1];
	if (rows * width * repeats > MAX_BATCH_VALUES)
		throw new InvalidInputError(
			`${rows} rows × ${width} features × ${repeats} repeats is over the ${MAX_BATCH_VALUES} values one shuffle batch may hold: ask for fewer rows or repeats.`,
			{ where: "rows" },
		);
	const truth =
		metric === "accuracy" ? classIndices(loaded.labels, version) : targetValues(loaded.labels);
	const names = model.schema.inputs[0]?.features?.map(f => f.name);
	const started = Date.now();
	const result = await permutationImportance({
		x: x.data as unknown as RowMajor<unknown>,
		rows,
		width,
		truth,
		metric,
		features: Array.from({ length: width }, (_, c) => ({
			name: names?.length === width ? names[c] : `f${c}`,
			columns: [c],
		})),
		repeats,
		seed,
		checkpoint: () => {
			if (deadline !== undefined && Date.now() >= deadline)
				throw new DeadlineExceededError(Date.now() - started);
		},
		predict: async (batch, n) => {
			const tensor: Tensor = {
				name: x.name,
				datatype: x.datatype,
				shape: [n, width],
				data: batch as unknown as TensorData,
			};
			const outputs = await model.runQueued(model.preprocess([tensor]), n, deadline);
			const out = outputs.find(t => t.datatype === "FP32" || t.datatype === "FP64");
			if (out === undefined)
				throw new InvalidInputError(
					`Permutation importance scores the first floating-point output; ${version.ref} gives none.`,
				);
			const scores = out.data as Float32Array;
			if (metric === "accuracy") return predictedClasses(scores, n);
			if (scores.length !== n)
				throw new InvalidInputError(
					`A regression's importance needs one value per row; ${version.ref}'s '${out.name}' is [${out.shape.join(", ")}].`,
				);
			return scores;
		},
	});
	return {
		...result,
		dataset: { sha256: loaded.sha256, ref: loaded.ref },
		computedAt: new Date().toISOString(),
	};
}

/** The importance action's parameters besides `model` and `version` (fastest-validator rules). */
export const IMPORTANCE_PARAMS = {
	dataset: { type: "string", min: 1, max: 300 },
	labelColumn: { type: "string", min: 1, max: 256, optional: true },
	rows: { type: "number", integer: true, min: 2, max: 100_000, optional: true },
	repeats: { type: "number", integer: true, min: 1, max: 50, optional: true },
	seed: { type: "number", integer: true, optional: true },
	metric: { type: "enum", values: [...IMPORTANCE_METRICS], optional: true },
} as const;
