/**
 * What the network learns to predict, from the label column: a class index per row
 * (classification; the classes in the order of the dataset's categories or numeric levels) or
 * a number per row (regression).
 */
import { classIndices, classesOf, findColumn, type Dataset } from "../datasets/dataset";
import { InvalidInputError } from "../errors";
import type { Task } from "./job-spec";

export type Targets =
	| {
			task: "classification";
			/** Class names; a class's index is its position here. */
			classes: string[];
			/** Per dataset row. */
			indices: Int32Array;
	  }
	| { task: "regression"; values: Float64Array };

function fail(message: string): never {
	throw new InvalidInputError(`labelColumn: ${message}`, { field: "labelColumn" });
}

/** The label column as targets for the task; a 400 when the column cannot serve that task. */
export function datasetTargets(dataset: Dataset, labelColumn: string, task: Task): Targets {
	const column = findColumn(dataset, labelColumn);
	if (!column) fail(`the dataset has no column '${labelColumn}'.`);
	if (column.missing > 0)
		fail(`'${labelColumn}' has ${column.missing} missing values; every row needs a label.`);
	if (task === "regression") {
		if (column.kind !== "numeric")
			fail(
				`'${labelColumn}' is categorical (${column.categories.length} categories); use task "classification".`,
			);
		return { task, values: column.values };
	}
	const classes = classesOf(column);
	if (classes === null)
		fail(`'${labelColumn}' has too many distinct values to be classes; use task "regression".`);
	if (classes.length < 2)
		fail(`'${labelColumn}' has ${classes.length} class; classification needs at least 2.`);
	return { task, classes: classes.map(c => c.value), indices: classIndices(column) };
}

/** The targets of `rows`: class indices, or values. */
export function targetsOf(targets: Targets, rows: ArrayLike<number>): Int32Array | Float64Array {
	const source = targets.task === "classification" ? targets.indices : targets.values;
	const out =
		targets.task === "classification"
			? new Int32Array(rows.length)
			: new Float64Array(rows.length);
	for (let i = 0; i < rows.length; i++) out[i] = source[rows[i]];
	return out;
}
