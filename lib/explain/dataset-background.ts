/**
 * A background set for KernelSHAP from a parsed dataset: `rows` rows drawn without
 * replacement by a seeded generator (all of them when the dataset has fewer), as instances the
 * version's request validator reads: objects by feature name when the schema names its
 * features (a feature the dataset lacks is left out: missing), else arrays of the dataset's
 * columns other than the label, in order. Pure.
 */
import type { Dataset, DatasetColumn } from "../datasets/dataset";
import { SeededRandom } from "../datasets/seeded-random";
import { InvalidInputError } from "../errors";

function cell(column: DatasetColumn, row: number): number | string | null {
	if (column.kind === "numeric") {
		const v = column.values[row];
		return Number.isNaN(v) ? null : v;
	}
	const code = column.codes[row];
	return code < 0 ? null : column.categories[code];
}

/** `rows` row indices drawn without replacement by the seeded generator, in dataset order. */
function pickRows(dataset: Dataset, rows: number, seed: number): number[] {
	const order = new SeededRandom(seed).permutation(dataset.rowCount);
	return Array.from(order.subarray(0, Math.min(rows, dataset.rowCount))).sort((a, b) => a - b);
}

/**
 * Labelled rows for permutation importance: instances as `datasetInstances` makes them (the
 * label column left out) and each row's label, from `labelColumn` or the dataset's own.
 */
export function labelledInstances(
	dataset: Dataset,
	featureNames: readonly string[] | null,
	width: number,
	rows: number,
	seed: number,
	labelColumn: string | null,
): { instances: unknown[]; labels: (number | string | null)[] } {
	const label = labelColumn ?? dataset.labelColumn;
	const column = dataset.columns.find(c => c.name === label);
	if (label === null || column === undefined)
		throw new InvalidInputError(
			label === null
				? "The dataset has no label column: name the column that holds the true labels as `labelColumn`."
				: `The dataset has no column '${label}': name the column that holds the true labels as \`labelColumn\` (its columns: ${dataset.columns
						.slice(0, 20)
						.map(c => c.name)
						.join(", ")}).`,
			{ where: "labelColumn" },
		);
	const picked = pickRows(dataset, rows, seed);
	return {
		instances: instancesOf(dataset, featureNames, width, picked, label),
		labels: picked.map(row => cell(column, row)),
	};
}

export function datasetInstances(
	dataset: Dataset,
	/** The schema's feature names, or null when it names none. */
	featureNames: readonly string[] | null,
	/** Features per row the model takes. */
	width: number,
	rows: number,
	seed: number,
): unknown[] {
	return instancesOf(
		dataset,
		featureNames,
		width,
		pickRows(dataset, rows, seed),
		dataset.labelColumn,
	);
}

function instancesOf(
	dataset: Dataset,
	featureNames: readonly string[] | null,
	width: number,
	picked: readonly number[],
	labelColumn: string | null,
): unknown[] {
	if (featureNames !== null) {
		const columns = featureNames.map(name => dataset.columns.find(c => c.name === name));
		if (columns.every(c => c === undefined))
			throw new InvalidInputError(
				`The background dataset has none of the model's features (${featureNames.slice(0, 10).join(", ")}…).`,
				{ where: "background" },
			);
		return picked.map(row => {
			const instance: Record<string, unknown> = {};
			columns.forEach((column, j) => {
				if (column !== undefined) instance[featureNames[j]] = cell(column, row);
			});
			return instance;
		});
	}
	const columns = dataset.columns.filter(c => c.name !== labelColumn);
	if (columns.length !== width)
		throw new InvalidInputError(
			`The background dataset has ${columns.length} columns besides its label and the model takes ${width} features, which it does not name: give \`background\` as rows.`,
			{ where: "background" },
		);
	return picked.map(row => columns.map(column => cell(column, row)));
}
