/**
 * Reads an uploaded CSV or NDJSON file into a Dataset in one streaming pass: bytes are counted
 * against the limit and hashed as they come, records are parsed one at a time into per-column
 * builders, and column types are decided when the file ends. Every refusal is a 400 naming the
 * row (and line) and the column, or a 413 past the size limit; nothing is returned then.
 *
 *     const dataset = await parseDataset(request.stream, { format: "csv", labelColumn: "label" });
 */
import { limitedChunks, newTally, type ByteSource } from "./byte-source";
import { ColumnBuilder, type Cell } from "./column-builder";
import type { Dataset, DatasetColumn } from "./dataset";
import { datasetError } from "./dataset-errors";
import {
	resolveDatasetOptions,
	type ParseDatasetOptions,
	type ResolvedDatasetOptions,
} from "./dataset-options";
import { csvRecords, ndjsonRecords } from "./record-readers";

/** The columns as the header (or first NDJSON object) names them, and their builders. */
class Table {
	readonly builders: ColumnBuilder[];
	private readonly index: Map<string, number>;
	rows = 0;

	constructor(names: readonly string[], options: ResolvedDatasetOptions, line: number) {
		if (names.length > options.maxColumns)
			throw datasetError(
				{ line },
				`${names.length} columns, over the limit of ${options.maxColumns}.`,
			);
		this.index = new Map();
		names.forEach((name, i) => {
			if (name === "")
				throw datasetError(
					{ line },
					`column ${i + 1} of the header has no name; give every column a name.`,
				);
			if (this.index.has(name))
				throw datasetError(
					{ line },
					`the header names column '${name}' twice; column names must be unique.`,
				);
			this.index.set(name, i);
		});
		for (const column of Object.keys(options.columnTypes))
			if (!this.index.has(column))
				throw datasetError(
					{ column },
					`columnTypes names a column the file does not have; its columns are ${listNames(names)}.`,
				);
		if (options.labelColumn !== null && !this.index.has(options.labelColumn))
			throw datasetError(
				{ column: options.labelColumn },
				`the label column is not in the file; its columns are ${listNames(names)}.`,
			);
		const missingValues = new Set(options.missingValues);
		this.builders = names.map(
			name =>
				new ColumnBuilder(name, {
					missingValues,
					maxCategories: options.maxCategories,
					kind: options.columnTypes[name],
				}),
		);
	}

	columnIndex(name: string): number | undefined {
		return this.index.get(name);
	}
}

function listNames(names: readonly string[]): string {
	const shown = names.slice(0, 20).map(n => `'${n}'`);
	if (names.length > 20) shown.push(`… (${names.length} in all)`);
	return shown.join(", ");
}

async function readCsv(
	chunks: AsyncIterable<Uint8Array>,
	options: ResolvedDatasetOptions,
): Promise<Table | null> {
	let table: Table | null = null;
	for await (const { cells, line } of csvRecords(chunks, options.delimiter)) {
		if (table === null) {
			table = new Table(
				cells.map(c => c.trim()),
				options,
				line,
			);
			continue;
		}
		const row = ++table.rows;
		const width = table.builders.length;
		if (cells.length !== width)
			throw datasetError(
				{ row, line },
				`${cells.length} value${cells.length === 1 ? "" : "s"}, but the header has ${width} columns; every row needs one value per column (an empty cell for a missing one).`,
			);
		for (let c = 0; c < width; c++) table.builders[c].add(cells[c], row, line);
	}
	return table;
}

async function readNdjson(
	chunks: AsyncIterable<Uint8Array>,
	options: ResolvedDatasetOptions,
): Promise<Table | null> {
	let table: Table | null = null;
	let cells: Cell[] = [];
	for await (const { entries, line } of ndjsonRecords(chunks)) {
		if (table === null) {
			table = new Table(
				entries.map(([key]) => key),
				options,
				line,
			);
			cells = new Array<Cell>(table.builders.length);
		}
		const row = ++table.rows;
		cells.fill(null);
		for (const [key, value] of entries) {
			const c = table.columnIndex(key);
			if (c === undefined)
				throw datasetError(
					{ row, line, column: key },
					"a key the first record does not have; every record must use the first one's keys (leave one out, or null, for a missing value).",
				);
			cells[c] = value;
		}
		for (let c = 0; c < cells.length; c++) table.builders[c].add(cells[c], row, line);
	}
	return table;
}

/** Parses and checks an upload; see the module comment. */
export async function parseDataset(
	source: ByteSource,
	options: ParseDatasetOptions,
): Promise<Dataset> {
	const resolved = resolveDatasetOptions(options);
	const tally = newTally();
	const chunks = limitedChunks(source, resolved.maxBytes, tally);
	const table =
		resolved.format === "csv"
			? await readCsv(chunks, resolved)
			: await readNdjson(chunks, resolved);
	if (table === null)
		throw datasetError(
			{},
			resolved.format === "csv"
				? "the file is empty; expected a header row, then one row per example."
				: "the file is empty; expected one JSON object per line.",
		);
	if (table.rows === 0)
		throw datasetError({}, "the file has a header but no data rows; add at least one row.");
	const label = resolved.labelColumn;
	if (label !== null) {
		const builder = table.builders[table.columnIndex(label) as number];
		const first = builder.firstMissingRow;
		if (first)
			throw datasetError(
				{ ...first, column: label },
				"the label is missing (an empty cell, NA or null); every row needs a label.",
			);
	}
	const columns: DatasetColumn[] = table.builders.map(builder => builder.finish());
	return Object.freeze({
		sha256: tally.hash.digest("hex"),
		bytes: tally.bytes,
		format: resolved.format,
		rowCount: table.rows,
		columns: Object.freeze(columns),
		labelColumn: label,
	});
}
