/**
 * The chunks of a CSV batch prediction. The header is read first (a header that does not fit
 * the input answers 400 before any prediction); then rows of a numeric input (FP32, FP64, no
 * categorical features) are parsed straight into one typed tensor per chunk, and other inputs'
 * rows become `instances` with each cell read for its column.
 */
import { InvalidInputError } from "../../errors";
import { rowChunks, type BatchChunk } from "./batch-chunk";
import { csvRecords } from "./csv-records";
import { cellReader, csvColumns, type BatchRow, type TabularInput } from "./input-rows";

/** Chunk buffers kept for reuse (the runner has a few chunks in flight). */
const SPARE_BUFFERS = 8;

/** Whether rows of the input can go as a typed tensor: numbers only, no categories. */
function numericInput(input: TabularInput): boolean {
	return (
		(input.datatype === "FP32" || input.datatype === "FP64") &&
		!(input.features ?? []).some(f => f.categories !== undefined)
	);
}

/** A cell as a number: empty is missing (NaN); null when it is not a number. */
function numberOf(cell: string): number | null {
	const value = Number(cell);
	if (!Number.isNaN(value)) return cell.trim() === "" ? NaN : value;
	return cell.trim().toLowerCase() === "nan" ? NaN : null;
}

/** The next record, or null at the end. */
async function nextRecord(records: AsyncIterator<string[]>): Promise<string[] | null> {
	const next = await records.next();
	return next.done ? null : next.value;
}

/** Why a record cannot be a row of `header`, or null. */
function raggedRow(
	row: number,
	cells: readonly string[],
	header: readonly string[],
): string | null {
	return cells.length === header.length
		? null
		: `Row ${row} has ${cells.length} values; the header has ${header.length}.`;
}

/** Reads `size` numeric rows into one typed tensor per chunk; a cell that is no number fails its row. */
async function* numericChunks(
	records: AsyncIterator<string[]>,
	header: readonly string[],
	columns: readonly number[],
	input: TabularInput,
	width: number,
	size: number,
	reuse: boolean,
): AsyncGenerator<BatchChunk> {
	const Data = input.datatype === "FP64" ? Float64Array : Float32Array;
	// Buffers of answered chunks, used again: a large file then allocates a few buffers, not
	// one per chunk whose memory comes back only when the garbage collector gets to it.
	const spare: (Float32Array | Float64Array)[] = [];
	let row = 0;
	let cells = await nextRecord(records);
	try {
		while (cells !== null) {
			const data = (spare.pop() ?? new Data(size * width)).fill(NaN);
			const chunk: BatchChunk = {
				order: [],
				rows: [],
				payload: null,
				errors: new Map(),
				release: () => void (reuse && spare.length < SPARE_BUFFERS && spare.push(data)),
			};
			let at = 0;
			let failure: unknown = null;
			const next = async (): Promise<string[] | null> => {
				try {
					return await nextRecord(records);
				} catch (error) {
					// Answer the rows read so far, then end with why the input broke off.
					failure = error;
					return null;
				}
			};
			for (; cells !== null && chunk.order.length < size; cells = await next()) {
				const index = row++;
				chunk.order.push(index);
				const ragged = raggedRow(index, cells, header);
				if (ragged !== null) {
					chunk.errors.set(index, ragged);
					continue;
				}
				const base = at * width;
				const bad = cells.findIndex((cell, c) => {
					const value = numberOf(cell);
					if (value !== null) data[base + columns[c]] = value;
					return value === null;
				});
				if (bad !== -1) {
					data.fill(NaN, base, base + width);
					chunk.errors.set(
						index,
						`row ${index} column '${header[bad]}': got ${JSON.stringify(cells[bad])}; expected a number (${input.datatype}).`,
					);
					continue;
				}
				chunk.rows.push(index);
				at++;
			}
			if (at > 0) {
				const tensor = { name: input.name, datatype: input.datatype, width };
				chunk.payload = {
					kind: "tensor",
					tensor: { ...tensor, data: data.subarray(0, at * width) },
				};
			}
			yield chunk;
			if (failure !== null) throw failure;
		}
	} finally {
		await records.return?.();
	}
}

/** Reads rows as instances, each cell read for its column. */
async function* instanceRows(
	records: AsyncIterator<string[]>,
	header: readonly string[],
	columns: readonly number[],
	input: TabularInput,
	width: number,
): AsyncGenerator<BatchRow> {
	const readers = Array.from({ length: width }, (_, i) =>
		cellReader(input.datatype, input.features?.[i]),
	);
	try {
		let row = 0;
		for (
			let cells = await nextRecord(records);
			cells !== null;
			cells = await nextRecord(records)
		) {
			const index = row++;
			const ragged = raggedRow(index, cells, header);
			if (ragged !== null) {
				yield { row: index, error: ragged };
				continue;
			}
			const instance: unknown[] = new Array<unknown>(width).fill(null);
			for (let c = 0; c < cells.length; c++)
				instance[columns[c]] = readers[columns[c]](cells[c]);
			yield { row: index, instance };
		}
	} finally {
		await records.return?.();
	}
}

/**
 * The chunks of a CSV body of `size` rows each. Resolves once the header is read; columns go
 * to the input's features by name (in any order; a feature without a column is missing), or
 * by position when the schema names none. With `reuseBuffers` (default true) a numeric chunk's
 * buffer is filled again once the chunk is answered — only safe when nothing reads a request
 * after its answer (a shadow deployment's mirrored call may).
 * @throws InvalidInputError (400) for an empty body or a header that does not fit the input
 */
export async function csvChunks(
	body: AsyncIterable<Uint8Array | string>,
	input: TabularInput,
	size: number,
	options: { reuseBuffers?: boolean } = {},
): Promise<AsyncGenerator<BatchChunk>> {
	const records = csvRecords(body);
	const first = await records.next();
	if (first.done)
		throw new InvalidInputError(
			"The CSV is empty: send a header row of feature names, then rows.",
			{ field: "body" },
		);
	const header = first.value;
	const columns = csvColumns(header, input);
	const width = input.features?.length ?? header.length;
	return numericInput(input)
		? numericChunks(records, header, columns, input, width, size, options.reuseBuffers ?? true)
		: rowChunks(instanceRows(records, header, columns, input, width), size);
}
