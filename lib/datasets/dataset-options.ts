/**
 * How a dataset upload is read. One options object, merged with the defaults once, checked at
 * once, then frozen, so every problem is reported together and nothing changes it later.
 */
import { InvalidInputError } from "../errors";
import type { ColumnKind, DatasetFormat } from "./dataset";

export interface ParseDatasetOptions {
	/** "csv" (a header row, then one record per line) or "ndjson" (one JSON object per line). */
	format: DatasetFormat;
	/**
	 * The column to predict. Optional at upload; when given it must exist, every row must have
	 * it, and the report gives its class balance. Default: none.
	 */
	labelColumn?: string | null;
	/** More bytes than this is a 413 (PayloadTooLargeError). Default 100 MiB. */
	maxBytes?: number;
	/**
	 * Overrides schema inference per column. "categorical" makes numbers categories (a zip code);
	 * "numeric" makes every non-number an error. Default: inferred from the values.
	 */
	columnTypes?: Readonly<Record<string, ColumnKind>>;
	/** Cell texts that mean "missing" (compared after trimming). Default ["", "NA", "N/A", "NaN", "null"]. */
	missingValues?: readonly string[];
	/** A categorical column may have at most this many categories. Default 1000. */
	maxCategories?: number;
	/** At most this many columns. Default 10000. */
	maxColumns?: number;
	/** The CSV field delimiter. Default ",". */
	delimiter?: string;
}

export type ResolvedDatasetOptions = Readonly<Required<ParseDatasetOptions>>;

export const DEFAULT_DATASET_OPTIONS: Omit<ResolvedDatasetOptions, "format"> = Object.freeze({
	labelColumn: null,
	maxBytes: 100 * 1024 * 1024,
	columnTypes: Object.freeze({}),
	missingValues: Object.freeze(["", "NA", "N/A", "NaN", "null"]),
	maxCategories: 1000,
	maxColumns: 10_000,
	delimiter: ",",
});

function positiveInteger(name: string, value: number): void {
	if (!Number.isSafeInteger(value) || value < 1)
		throw new InvalidInputError(`${name} must be an integer ≥ 1; got ${value}.`, {
			field: name,
		});
}

/** The options with their defaults; a 400 naming the option when one is unusable. */
export function resolveDatasetOptions(options: ParseDatasetOptions): ResolvedDatasetOptions {
	const merged: Required<ParseDatasetOptions> = {
		format: options.format,
		labelColumn: options.labelColumn ?? DEFAULT_DATASET_OPTIONS.labelColumn,
		maxBytes: options.maxBytes ?? DEFAULT_DATASET_OPTIONS.maxBytes,
		columnTypes: options.columnTypes ?? DEFAULT_DATASET_OPTIONS.columnTypes,
		missingValues: options.missingValues ?? DEFAULT_DATASET_OPTIONS.missingValues,
		maxCategories: options.maxCategories ?? DEFAULT_DATASET_OPTIONS.maxCategories,
		maxColumns: options.maxColumns ?? DEFAULT_DATASET_OPTIONS.maxColumns,
		delimiter: options.delimiter ?? DEFAULT_DATASET_OPTIONS.delimiter,
	};
	if (merged.format !== "csv" && merged.format !== "ndjson")
		throw new InvalidInputError(
			`format must be "csv" or "ndjson"; got ${JSON.stringify(merged.format)}.`,
			{ field: "format" },
		);
	positiveInteger("maxBytes", merged.maxBytes);
	positiveInteger("maxCategories", merged.maxCategories);
	positiveInteger("maxColumns", merged.maxColumns);
	if (merged.delimiter.length !== 1 || /["\r\n]/.test(merged.delimiter))
		throw new InvalidInputError(
			`delimiter must be one character other than a quote or a line break; got ${JSON.stringify(merged.delimiter)}.`,
			{ field: "delimiter" },
		);
	for (const [column, kind] of Object.entries(merged.columnTypes))
		if (kind !== "numeric" && kind !== "categorical")
			throw new InvalidInputError(
				`columnTypes.${column} must be "numeric" or "categorical"; got ${JSON.stringify(kind)}.`,
				{ field: `columnTypes.${column}` },
			);
	return Object.freeze({
		...merged,
		columnTypes: Object.freeze({ ...merged.columnTypes }),
		missingValues: Object.freeze([...merged.missingValues]),
	});
}
