/**
 * The validation report shown after an upload: per column its type, missing values and range
 * (numeric) or categories (categorical); for the label, the class balance; and warnings about
 * what would hurt a model trained on it (constant columns, mostly-missing columns, rare classes).
 */
import { numericStats } from "./column-stats";
import { classesOf, findColumn, type Dataset, type ValueCount } from "./dataset";

export interface NumericColumnReport {
	name: string;
	type: "numeric";
	missing: number;
	/** null when every value is missing (JSON has no NaN). */
	min: number | null;
	max: number | null;
	mean: number | null;
	std: number | null;
	/** Distinct values, when few enough to be counted (see NumericColumn.levels). */
	distinct: number | null;
	/**
	 * The values at every percentile (0 %, 1 %, …, 100 %) of the present values, linear
	 * between order statistics: what drift is measured against. Absent in reports made before
	 * they were kept; empty when every value is missing.
	 */
	quantiles?: number[];
}

export interface CategoricalColumnReport {
	name: string;
	type: "categorical";
	missing: number;
	categories: ValueCount[];
}

export type ColumnReport = NumericColumnReport | CategoricalColumnReport;

export interface ClassShare extends ValueCount {
	/** count / rows, in [0, 1]. */
	fraction: number;
}

export interface LabelReport {
	column: string;
	type: "numeric" | "categorical";
	/** The classes with their share of the rows; null for a numeric label with many values (regression). */
	classes: ClassShare[] | null;
	/** Rows of the largest class over rows of the smallest (1 = balanced); null without classes. */
	imbalanceRatio: number | null;
}

export interface DatasetReport {
	sha256: string;
	bytes: number;
	rows: number;
	columns: ColumnReport[];
	label: LabelReport | null;
	warnings: string[];
}

/** Warn when more than this share of a column is missing. */
const MOSTLY_MISSING = 0.5;

const finiteOrNull = (v: number) => (Number.isFinite(v) ? v : null);

/** Every percentile of the present values (101 points), rounded to 6 significant digits. */
function percentiles(values: Float64Array): number[] {
	const present = values.filter(v => v === v).sort();
	if (present.length === 0) return [];
	const out: number[] = [];
	for (let k = 0; k <= 100; k++) {
		const pos = (k / 100) * (present.length - 1);
		const lo = Math.floor(pos);
		const hi = Math.min(lo + 1, present.length - 1);
		out.push(Number((present[lo] + (present[hi] - present[lo]) * (pos - lo)).toPrecision(6)));
	}
	return out;
}

export function datasetReport(dataset: Dataset): DatasetReport {
	const warnings: string[] = [];
	const rows = dataset.rowCount;
	const columns = dataset.columns.map((column): ColumnReport => {
		if (column.missing > rows * MOSTLY_MISSING)
			warnings.push(
				`column '${column.name}': ${column.missing} of ${rows} values are missing; imputing that many hides the column's signal.`,
			);
		if (column.kind === "categorical") {
			if (column.categories.length === 1 && column.name !== dataset.labelColumn)
				warnings.push(`column '${column.name}' has one category only; it tells nothing.`);
			return {
				name: column.name,
				type: "categorical",
				missing: column.missing,
				categories: column.categories.map((value, i) => ({
					value,
					count: column.counts[i],
				})),
			};
		}
		const stats = numericStats(column.values);
		if (stats.count > 0 && stats.min === stats.max && column.name !== dataset.labelColumn)
			warnings.push(`column '${column.name}' is constant (${stats.min}); it tells nothing.`);
		return {
			name: column.name,
			type: "numeric",
			missing: column.missing,
			min: finiteOrNull(stats.min),
			max: finiteOrNull(stats.max),
			mean: finiteOrNull(stats.mean),
			std: finiteOrNull(stats.std),
			distinct: column.levels?.length ?? null,
			quantiles: percentiles(column.values),
		};
	});
	let label: LabelReport | null = null;
	const labelColumn =
		dataset.labelColumn === null ? undefined : findColumn(dataset, dataset.labelColumn);
	if (labelColumn) {
		const classes = classesOf(labelColumn);
		const shares = classes?.map(c => ({ ...c, fraction: c.count / rows })) ?? null;
		const counts = classes?.map(c => c.count) ?? [];
		label = {
			column: labelColumn.name,
			type: labelColumn.kind,
			classes: shares,
			imbalanceRatio: counts.length ? Math.max(...counts) / Math.min(...counts) : null,
		};
		for (const c of classes ?? [])
			if (c.count < 3)
				warnings.push(
					`label class '${c.value}' has ${c.count} row${c.count === 1 ? "" : "s"}; too few to split into train, validation and test.`,
				);
	}
	return { sha256: dataset.sha256, bytes: dataset.bytes, rows, columns, label, warnings };
}
