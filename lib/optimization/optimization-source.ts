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
	type EvaluationSource,
	type EvaluationSplit,
	type OptimizationRequest,
	type OptimizationSource,
	type OptimizationSpec,
} from "./optimization-spec";
import { datasetEvaluation, type NamedDatasetView } from "./dataset-evaluation";
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
			`version ${version.model}@${version.version} was not trained by a training job here, so it has no test split to be evaluated on: name a dataset to evaluate on with "dataset" (and "labelColumn", "features" when needed); see docs/optimization.md`,
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

/** A version with a model file; a 400 otherwise. */
function withArtifact(version: SourceVersionView): { sha256: string; size: number } {
	if (version.artifact === null)
		throw new InvalidInputError(
			`version ${version.model}@${version.version} has no model file`,
			{ field: "version" },
		);
	return version.artifact;
}

function sourceOf(version: SourceVersionView): OptimizationSource {
	return {
		version: version.version,
		format: version.format as RecipeFileFormat,
		artifact: withArtifact(version),
		schema: version.schema,
		pipeline: version.pipeline,
		labels: version.labels,
	};
}

/** The job evaluated on a dataset the request names (dataset-evaluation.ts). */
export function buildDatasetOptimizationJob(
	request: OptimizationRequest,
	version: SourceVersionView,
	dataset: NamedDatasetView & { id: string },
): { spec: OptimizationSpec; datasetId: string } {
	const source = sourceOf(version);
	return {
		spec: optimizationSpec(request, source, datasetEvaluation(request, source, dataset)),
		datasetId: dataset.id,
	};
}

export function buildOptimizationJob(
	request: OptimizationRequest,
	version: SourceVersionView,
	job: SourceJobView,
): { spec: OptimizationSpec; datasetId: string } {
	for (const field of ["labelColumn", "features"] as const)
		if (request[field] !== undefined)
			throw new InvalidInputError(
				`${field} applies to a named dataset: give "dataset" too, or leave ${field} out to evaluate on the source's training split`,
				{ field },
			);
	const spec = job.spec;
	const evaluation: EvaluationSource =
		spec.kind === "optimize"
			? (spec.evaluation as EvaluationSource)
			: {
					trainingJob: job.id,
					labelColumn: spec.labelColumn as string,
					features: (spec.features as string[] | null) ?? null,
					task: spec.task as EvaluationSplit["task"],
					split: spec.split as SplitFractions,
					seed: spec.seed as number,
				};
	return {
		spec: optimizationSpec(request, sourceOf(version), evaluation),
		datasetId: job.datasetId,
	};
}
