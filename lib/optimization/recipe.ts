/**
 * The contract every optimization recipe implements (graph optimization, FP16, INT8 dynamic and
 * static quantization, pruning, TF.js → ONNX conversion): it checks its own parameters, then
 * turns the source version's file into the optimized file. A recipe is pure work on bytes: it
 * does not read blobs, register versions or evaluate the result — the optimization job
 * (lib/optimization/optimization-job.ts) does that around it, the same for every recipe.
 *
 * Keep this file stable: recipes written elsewhere (pruning, conversion) plug in through it.
 */

/** The recipes the fleet knows, by the `recipe` field of an optimization request. */
export const RECIPE_KINDS = [
	"graph",
	"fp16",
	"int8-dynamic",
	"int8-static",
	"prune",
	"convert",
] as const;
export type RecipeKind = (typeof RECIPE_KINDS)[number];

/** A model file format, as versions name it (lib/model-spec MODEL_FORMATS). */
export type RecipeFileFormat = "onnx" | "tfjs" | "xgboost-json";

/**
 * Model-ready rows from a dataset (the source version's test split, or a named dataset), after
 * the version's pre-processing pipeline: what the model's first input takes, row-major. A
 * recipe that needs another input shape (e.g. [rows, 1, 8, 8]) reshapes `features` itself.
 */
export interface RecipeDataset {
	/** rows × width, row-major. */
	features: Float32Array;
	rows: number;
	width: number;
	/** Each row's class index (classification), or null when there are no class labels. */
	labels: Int32Array | null;
}

export interface RecipeRunInput<P> {
	/** The source version's file: an `.onnx` file, or a TF.js tar for "tfjs". */
	sourceFile: Uint8Array;
	sourceFormat: RecipeFileFormat;
	/** What `validateParams` returned. */
	params: P;
	/** Present when the recipe says `needsDataset` (calibration, fine-tuning); else null. */
	dataset: RecipeDataset | null;
	/** Aborted when the job is cancelled or its node stops: stop soon and throw. */
	signal: AbortSignal;
	/** fraction in [0, 1]; reported as the job's progress. Cheap: call it as often as useful. */
	progress(fraction: number, message: string): void;
}

export interface RecipeOutput {
	/** The optimized file. */
	file: Uint8Array;
	format: RecipeFileFormat;
	/** Human-readable lines for the version's description and the job report. */
	notes: string[];
	/** Recipe-specific facts worth keeping with the version (e.g. sparsity, nodes quantized). */
	details?: Record<string, unknown>;
}

export interface OptimizationRecipe<P = unknown> {
	kind: RecipeKind;
	/** One line for the docs and the REPL. */
	description: string;
	/** The source formats the recipe reads. */
	sourceFormats: readonly RecipeFileFormat[];
	/** Whether `run` needs `dataset` (the job then loads one; an error when none can be found). */
	needsDataset: boolean;
	/**
	 * The request's `params` (unknown JSON; undefined when absent) → typed parameters with their
	 * defaults. Throws lib/errors InvalidInputError naming the field that is wrong and why.
	 */
	validateParams(raw: unknown): P;
	/** Throws on failure; an aborted signal ends it with the signal's reason. */
	run(input: RecipeRunInput<P>): Promise<RecipeOutput>;
}
