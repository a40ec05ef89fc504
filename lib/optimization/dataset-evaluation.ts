/**
 * Evaluating on a dataset named in the request, for a version with no training job here (an
 * uploaded model) or when the caller wants other rows than the training split. The rows go
 * through the source version's own input handling, as a predict request would: the columns of
 * its first input (the request's `features`, else the schema's feature names, else the
 * dataset's numeric columns but the label, in file order) as FP32 values (a categorical one as
 * its category's index, a missing one as NaN), then the version's `pipeline.pre`. Classes are
 * the version's `labels` when it has them (a dataset class outside them is refused), else the
 * dataset's classes in their sorted order (the order training here gives them).
 *
 *     const evaluation = datasetEvaluation(request, version, datasetView);   // at request time
 *     const rows = datasetEvaluationRows(parsed, evaluation, spec.source);   // on the trainer
 */
import type { ColumnReport } from "../datasets/dataset-report";
import { classesOf, classIndices, findColumn, type Dataset } from "../datasets/dataset";
import { InvalidInputError } from "../errors";
import type { ModelSchema, TensorSpec } from "../model-spec/model-schema";
import type { PipelineSpec } from "../model-spec/version-spec";
import { compilePrePipeline } from "../pipelines/pre-pipeline";
import type { EvaluationRows } from "./evaluation-rows";
import type { EvaluationDataset, OptimizationRequest } from "./optimization-spec";
import type { RecipeDataset } from "./recipe";

/** What of the source version its inputs depend on. */
export interface DatasetEvaluationSource {
	version: string;
	schema: ModelSchema;
	pipeline: PipelineSpec;
	labels: string[] | null;
}

/** The registry's dataset view, the fields used here. */
export interface NamedDatasetView {
	ref: string;
	labelColumn: string | null;
	report: unknown;
}

function refuse(field: string, message: string): never {
	throw new InvalidInputError(message, { field });
}

/** Columns one row of the model's first input holds, before the pipeline; null when unknown. */
export function inputColumns(source: DatasetEvaluationSource): number | null {
	const input: TensorSpec | undefined = source.schema.inputs[0];
	if (input === undefined) return null;
	if (source.pipeline.pre.length > 0)
		return compilePrePipeline(source.pipeline.pre, input).inputWidth;
	if (input.features !== undefined) return input.features.length;
	const dims = input.shape.slice(1);
	return dims.every(d => d > 0) ? dims.reduce((a, b) => a * b, 1) : null;
}

/** The request's dataset fields, checked against the dataset's columns and the source's input. */
export function datasetEvaluation(
	request: Pick<OptimizationRequest, "labelColumn" | "features">,
	source: DatasetEvaluationSource,
	dataset: NamedDatasetView,
): EvaluationDataset {
	const columns = (dataset.report as { columns?: ColumnReport[] }).columns ?? [];
	const names = columns.map(c => c.name);
	const labelColumn = request.labelColumn ?? dataset.labelColumn;
	if (labelColumn === undefined || labelColumn === null)
		refuse(
			"labelColumn",
			`labelColumn: dataset ${dataset.ref} has no label column of its own; name one of its columns (${names.join(", ")}).`,
		);
	if (!names.includes(labelColumn))
		refuse(
			"labelColumn",
			`labelColumn: dataset ${dataset.ref} has no column '${labelColumn}'; its columns are: ${names.join(", ")}.`,
		);
	const features =
		request.features ??
		source.schema.inputs[0]?.features?.map(f => f.name) ??
		columns.filter(c => c.type === "numeric" && c.name !== labelColumn).map(c => c.name);
	for (const name of features)
		if (!names.includes(name) || name === labelColumn)
			refuse(
				"features",
				`features: '${name}' is not a feature column of dataset ${dataset.ref}; its columns are: ${names.join(", ")}.`,
			);
	const width = inputColumns(source);
	if (width !== null && width !== features.length)
		refuse(
			"features",
			`features: version ${source.version}'s input '${source.schema.inputs[0].name}' takes ${width} columns per row, but ${features.length} of dataset ${dataset.ref} were chosen (${features.join(", ")}); name exactly ${width} in the input's order with "features".`,
		);
	return { dataset: dataset.ref, labelColumn, features: [...features] };
}

/** The model-ready rows of every dataset row, and their classes; both parts are all rows. */
export function datasetEvaluationRows(
	dataset: Dataset,
	evaluation: EvaluationDataset,
	source: DatasetEvaluationSource,
): EvaluationRows {
	const columns = evaluation.features.map(name => {
		const column = findColumn(dataset, name);
		if (column === undefined)
			refuse("features", `features: the dataset has no column '${name}'.`);
		return column;
	});
	const raw = new Float32Array(dataset.rowCount * columns.length);
	columns.forEach((column, c) => {
		for (let r = 0; r < dataset.rowCount; r++)
			raw[r * columns.length + c] =
				column.kind === "numeric"
					? column.values[r]
					: column.codes[r] < 0
						? NaN
						: column.codes[r];
	});
	const input = source.schema.inputs[0];
	const pre = compilePrePipeline(source.pipeline.pre, input, { outputDatatype: "FP32" });
	const tensor = pre.apply({
		name: input.name,
		datatype: "FP32",
		shape: [dataset.rowCount, columns.length],
		data: raw,
	});
	const features =
		tensor.data instanceof Float32Array
			? tensor.data
			: Float32Array.from(tensor.data as ArrayLike<number>);
	const rows: RecipeDataset = {
		features,
		rows: dataset.rowCount,
		width: dataset.rowCount > 0 ? features.length / dataset.rowCount : columns.length,
		labels: classIndicesFor(dataset, evaluation.labelColumn, source.labels),
	};
	return { test: rows, train: rows };
}

/** Each row's class index in the version's labels (or the dataset's classes); null for a non-class label. */
function classIndicesFor(
	dataset: Dataset,
	labelColumn: string,
	labels: readonly string[] | null,
): Int32Array | null {
	const column = findColumn(dataset, labelColumn);
	if (column === undefined)
		refuse("labelColumn", `labelColumn: the dataset has no column '${labelColumn}'.`);
	const classes = classesOf(column)?.map(c => c.value) ?? null;
	if (classes === null) return null;
	const order = labels ?? classes;
	const unknown = classes.filter(c => !order.includes(c));
	if (unknown.length > 0)
		refuse(
			"labelColumn",
			`labelColumn: the dataset's classes ${unknown.map(c => `'${c}'`).join(", ")} are not among the version's labels (${order.join(", ")}); evaluate on a dataset of the same classes.`,
		);
	const index = classes.map(c => order.indexOf(c));
	return Int32Array.from(classIndices(column), code => (code < 0 ? -1 : index[code]));
}
