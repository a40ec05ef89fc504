/**
 * What an optimization request needs from the registry and the queue, turned into the job's
 * spec: the source version (its file and serving contract) and how its training job split its
 * dataset. A version optimized before carries its optimization job's split along, so an
 * optimized version can be optimized again (and compared on the same rows).
 */
import { InvalidInputError } from "../errors";
import type { ModelSchema } from "../model-spec/model-schema";
import type { Lineage, PipelineSpec } from "../model-spec/version-spec";
import type { SplitFractions } from "../datasets/dataset-split";
import {
	optimizationSpec,
	type EvaluationSplit,
	type OptimizationRequest,
	type OptimizationSpec,
} from "./optimization-spec";
import type { RecipeFileFormat } from "./recipe";

/** The registry's version view, the fields used here. */
export interface SourceVersionView {
	model: string;
	version: string;
	format: string;
	artifact: { sha256: string; size: number } | null;
	schema: ModelSchema;
	pipeline: PipelineSpec;
	labels: string[] | null;
	lineage: Lineage;
}

/** The queue's job view, the fields used here. */
export interface SourceJobView {
	id: string;
	datasetId: string;
	spec: Record<string, unknown>;
}

/** The training job whose split the evaluation reuses; a 400 when the version has none. */
export function sourceJobId(version: SourceVersionView): string {
	const job = version.lineage.trainingJob;
	if (job === undefined)
		throw new InvalidInputError(
			`version ${version.model}@${version.version} was not trained by a training job here: optimization evaluates on the test split of the job that trained the source (versions uploaded as files are not supported yet)`,
			{ field: "version" },
		);
	if (version.artifact === null)
		throw new InvalidInputError(
			`version ${version.model}@${version.version} has no model file`,
			{
				field: "version",
			},
		);
	return job;
}

export function buildOptimizationJob(
	request: OptimizationRequest,
	version: SourceVersionView,
	job: SourceJobView,
): { spec: OptimizationSpec; datasetId: string } {
	const spec = job.spec;
	const evaluation: EvaluationSplit =
		spec.kind === "optimize"
			? (spec.evaluation as EvaluationSplit)
			: {
					trainingJob: job.id,
					labelColumn: spec.labelColumn as string,
					features: (spec.features as string[] | null) ?? null,
					task: spec.task as EvaluationSplit["task"],
					split: spec.split as SplitFractions,
					seed: spec.seed as number,
				};
	return {
		spec: optimizationSpec(
			request,
			{
				version: version.version,
				format: version.format as RecipeFileFormat,
				artifact: version.artifact!,
				schema: version.schema,
				pipeline: version.pipeline,
				labels: version.labels,
			},
			evaluation,
		),
		datasetId: job.datasetId,
	};
}
