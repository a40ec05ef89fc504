/**
 * Records from CSV or NDJSON chunks, one at a time with the line they end on. The CSV reader is
 * csv-parse's streaming parser; the NDJSON reader splits lines itself. Neither keeps more than
 * the record in hand (and csv-parse's buffer of an unfinished line).
 */
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { StringDecoder } from "node:string_decoder";
import { CsvError, parse } from "csv-parse";
import type { Cell } from "./column-builder";
import { jsonSyntaxReason } from "../files/error-reasons";
import { parseClientJson } from "../json-policy";
import { datasetError, kindOfValue } from "./dataset-errors";

export interface CsvRecord {
	cells: string[];
	/** The line the record ends on, 1-based. */
	line: number;
}

interface CsvParserOutput {
	record: string[];
	info: { lines: number };
}

/** CSV records, the header first. A malformed file (an unclosed quote…) is a 400 naming the line. */
export async function* csvRecords(
	chunks: AsyncIterable<Uint8Array>,
	delimiter: string,
): AsyncGenerator<CsvRecord> {
	const parser = parse({
		bom: true,
		delimiter,
		info: true,
		// Ragged rows are reported by the caller, with the row and the header's width.
		relax_column_count: true,
		skip_empty_lines: true,
	});
	const feeding = pipeline(Readable.from(chunks), parser);
	// A failure reaches the loop below through the parser; this promise is only awaited for its end.
	feeding.catch(() => undefined);
	try {
		for await (const output of parser as AsyncIterable<CsvParserOutput>)
			yield { cells: output.record, line: output.info.lines };
		await feeding;
	} catch (error) {
		if (error instanceof CsvError) {
			const line = (error as CsvError & { lines?: number }).lines;
			throw datasetError({ line }, `the file is not valid CSV: ${csvReason(error.message)}`);
		}
		throw error;
	} finally {
		parser.destroy();
	}
}

/** csv-parse's message without the text it quotes (`got "x"`, `value is "…"`). */
function csvReason(message: string): string {
	return message
		.replace(/^Invalid \w+: /, "")
		.replace(/,? value is "(?:[^"\\]|\\.)*"/g, "")
		.replace(/got "(?:[^"\\]|\\.)*"/g, "got another character");
}

export interface NdjsonRecord {
	/** The object's own keys and values. */
	entries: [string, Cell][];
	line: number;
}

/** NDJSON objects, one per non-blank line; anything else is a 400 naming the line. */
export async function* ndjsonRecords(
	chunks: AsyncIterable<Uint8Array>,
): AsyncGenerator<NdjsonRecord> {
	const decoder = new StringDecoder("utf8");
	let pending = "";
	let line = 0;
	const parseLine = (text: string): NdjsonRecord | null => {
		line++;
		const trimmed = text.trim();
		if (trimmed === "") return null;
		// The JSON decoding policy: a line too deep, or holding NUL, is refused like bad JSON.
		const value = parseClientJson(trimmed, {
			what: `Invalid dataset: line ${line}`,
			syntaxError: (_, error) =>
				datasetError(
					{ line },
					`not valid JSON (${jsonSyntaxReason(error)}); NDJSON needs one object per line.`,
				),
		});
		if (value === null || typeof value !== "object" || Array.isArray(value))
			throw datasetError(
				{ line },
				`expected a JSON object ({"column": value, …}); got ${kindOfValue(value)}.`,
			);
		const entries = Object.entries(value as Record<string, unknown>).map(
			([key, cell]): [string, Cell] => {
				if (cell === null || typeof cell === "number" || typeof cell === "string")
					return [key, cell];
				if (typeof cell === "boolean") return [key, String(cell)];
				throw datasetError(
					{ line, column: key },
					`a value must be a number, a string, a boolean or null; got ${Array.isArray(cell) ? "an array" : "an object"}.`,
				);
			},
		);
		return { entries, line };
	};
	let first = true;
	for await (const chunk of chunks) {
		pending += decoder.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
		if (first && pending.length > 0) {
			if (pending.charCodeAt(0) === 0xfeff) pending = pending.slice(1);
			first = false;
		}
		let start = 0;
		let newline: number;
		while ((newline = pending.indexOf("\n", start)) >= 0) {
			const record = parseLine(pending.slice(start, newline));
			start = newline + 1;
			if (record) yield record;
		}
		pending = pending.slice(start);
	}
	pending += decoder.end();
	if (pending.length > 0) {
		const record = parseLine(pending);
		if (record) yield record;
	}
}
