/**
 * A parsed tabular dataset, held column by column in typed arrays (no per-row objects). A
 * dataset never changes once parsed: its identity is the sha256 of the bytes it came from, and
 * everything derived from it (splits, statistics, pre-processing) can be made again from those
 * bytes. The typed arrays are shared, not copied: read them, never write them.
 */

export type DatasetFormat = "csv" | "ndjson";
export type ColumnKind = "numeric" | "categorical";

/** A distinct value of a column and how many rows hold it. */
export interface ValueCount {
	value: string;
	count: number;
}

export interface NumericColumn {
	readonly name: string;
	readonly kind: "numeric";
	/** One value per row; NaN where the cell was missing. */
	readonly values: Float64Array;
	readonly missing: number;
	/**
	 * The distinct values, in ascending numeric order with their counts, when the column has at
	 * most `maxCategories` of them (a numeric label such as a digit 0–9 is a class); else null.
	 * Each value is written as JavaScript writes the number (`String(n)`).
	 */
	readonly levels: readonly ValueCount[] | null;
}

export interface CategoricalColumn {
	readonly name: string;
	readonly kind: "categorical";
	/** The categories, sorted (by code point; numerically when all are numbers). */
	readonly categories: readonly string[];
	/** One code per row: the index of its category in `categories`; -1 where missing. */
	readonly codes: Int32Array;
	/** Rows per category, in the order of `categories`. */
	readonly counts: readonly number[];
	readonly missing: number;
}

export type DatasetColumn = NumericColumn | CategoricalColumn;

export interface Dataset {
	/** Lowercase hex sha256 of the bytes parsed: the dataset's identity. */
	readonly sha256: string;
	readonly bytes: number;
	readonly format: DatasetFormat;
	readonly rowCount: number;
	readonly columns: readonly DatasetColumn[];
	/** The label column the caller named at upload, if any. */
	readonly labelColumn: string | null;
}

/** The column of that name, or undefined. */
export function findColumn(dataset: Dataset, name: string): DatasetColumn | undefined {
	return dataset.columns.find(c => c.name === name);
}

/**
 * The classes of a column used as a classification label, in the order their indices follow:
 * a categorical column's categories, or a numeric column's distinct values. Null when the
 * column has too many distinct values to be classes.
 */
export function classesOf(column: DatasetColumn): readonly ValueCount[] | null {
	if (column.kind === "categorical")
		return column.categories.map((value, i) => ({ value, count: column.counts[i] }));
	return column.levels;
}

/**
 * Each row's class index (-1 where the label is missing), for the classes `classesOf` gives.
 * Throws a TypeError when the column has no classes; callers check `classesOf` first.
 */
export function classIndices(column: DatasetColumn): Int32Array {
	if (column.kind === "categorical") return column.codes;
	const levels = column.levels;
	if (levels === null) throw new TypeError(`column '${column.name}' has no classes`);
	const index = new Map(levels.map((level, i) => [Number(level.value), i]));
	const out = new Int32Array(column.values.length);
	column.values.forEach((v, row) => (out[row] = index.get(v) ?? -1));
	return out;
}
