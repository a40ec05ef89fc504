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

export function datasetInstances(
	dataset: Dataset,
	/** The schema's feature names, or null when it names none. */
	featureNames: readonly string[] | null,
	/** Features per row the model takes. */
	width: number,
	rows: number,
	seed: number,
): unknown[] {
	const order = new SeededRandom(seed).permutation(dataset.rowCount);
	const picked = Array.from(order.subarray(0, Math.min(rows, dataset.rowCount))).sort(
		(a, b) => a - b,
	);
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
	const columns = dataset.columns.filter(c => c.name !== dataset.labelColumn);
	if (columns.length !== width)
		throw new InvalidInputError(
			`The background dataset has ${columns.length} columns besides its label and the model takes ${width} features, which it does not name: give \`background\` as rows.`,
			{ where: "background" },
		);
	return picked.map(row => columns.map(column => cell(column, row)));
}
