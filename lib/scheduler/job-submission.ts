/**
 * A job spec checked against the dataset it names, when it is submitted: the label and
 * feature columns exist and the label can serve the task. The trainer would refuse these too,
 * but only after the job waited its turn in the queue.
 */
import type { ColumnReport } from "../datasets/dataset-report";
import { InvalidInputError } from "../errors";
import type { JobSpec, Task } from "../training/job-spec";

export interface DatasetSummary {
	ref: string;
	report: unknown;
}

export function checkJobAgainstDataset(spec: JobSpec, dataset: DatasetSummary): void {
	const report = dataset.report as { columns?: ColumnReport[] };
	const columns = (report.columns ?? []).map(c => c.name);
	for (const [field, name] of [
		["labelColumn", spec.labelColumn],
		...(spec.features ?? []).map(f => ["features", f] as const),
	] as const) {
		if (!columns.includes(name)) {
			throw new InvalidInputError(
				`Invalid training job: ${field}: dataset ${dataset.ref} has no column '${name}'; its columns are: ${columns.join(", ")}.`,
				{ field },
			);
		}
	}
	const label = report.columns?.find(c => c.name === spec.labelColumn);
	const unfit = label && labelUnfit(label, spec.task);
	if (unfit) {
		throw new InvalidInputError(
			`Invalid training job: labelColumn: '${spec.labelColumn}' ${unfit}.`,
			{ field: "labelColumn" },
		);
	}
}

/** Why a dataset column cannot be the label of a task (the trainer's rules), or null. */
function labelUnfit(column: ColumnReport, task: Task): string | null {
	if (column.missing > 0) return `has ${column.missing} missing values; every row needs a label`;
	if (task === "regression") {
		return column.type === "categorical"
			? `is categorical (${column.categories.length} categories); use task "classification"`
			: null;
	}
	const classes = column.type === "categorical" ? column.categories.length : column.distinct;
	if (classes === null)
		return `has too many distinct values to be classes; use task "regression"`;
	return classes < 2 ? `has ${classes} class; classification needs at least 2` : null;
}
