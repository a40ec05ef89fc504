/**
 * CSV records from a byte stream, one at a time, holding no more than the unfinished record
 * and the chunk in hand. RFC 4180: fields may be quoted (`"a,b"`, `""` for a quote, line breaks
 * inside quotes); lines end with LF or CRLF; blank lines are skipped. Records without a quote
 * take a fast path (a split), which is most of a numeric file — several times csv-parse's
 * speed, which matters for files of hundreds of megabytes.
 */
import { StringDecoder } from "node:string_decoder";
import { InvalidInputError } from "../../errors";

export interface CsvRecordOptions {
	/** One character; default ",". */
	delimiter?: string;
	/** Longest record (in characters) before the file is refused: memory stays bounded. Default 16 Mi. */
	maxRecordChars?: number;
}

const QUOTE = 34;
const CR = 13;
const LF = 10;

interface Parsed {
	cells: string[];
	/** Where the next record starts. */
	next: number;
}

/**
 * One record starting at `start` that holds a quote, or null when `text` ends before the
 * record does (more data needed). At the end of input (`final`), an open quote is an error.
 */
function parseQuoted(
	text: string,
	start: number,
	delimiter: number,
	final: boolean,
): Parsed | null {
	const cells: string[] = [];
	let cell = "";
	let i = start;
	let fieldStart = true;
	let quoted = false;
	while (i < text.length) {
		const c = text.charCodeAt(i);
		if (quoted) {
			if (c === QUOTE) {
				if (i + 1 >= text.length && !final) return null; // `"` or `""`: the next chunk tells
				if (text.charCodeAt(i + 1) === QUOTE) {
					cell += '"';
					i += 2;
				} else {
					quoted = false;
					i++;
				}
				continue;
			}
			const close = text.indexOf('"', i);
			const end = close === -1 ? text.length : close;
			cell += text.slice(i, end);
			i = end;
			continue;
		}
		if (c === QUOTE && fieldStart) {
			quoted = true;
			fieldStart = false;
			i++;
		} else if (c === delimiter) {
			cells.push(cell);
			cell = "";
			fieldStart = true;
			i++;
		} else if (c === LF) {
			cells.push(cell.charCodeAt(cell.length - 1) === CR ? cell.slice(0, -1) : cell);
			return { cells, next: i + 1 };
		} else {
			cell += text[i];
			fieldStart = false;
			i++;
		}
	}
	if (!final) return null;
	if (quoted)
		throw new InvalidInputError(
			"The CSV ends inside a quoted field: a closing quote is missing.",
			{
				where: "body",
			},
		);
	cells.push(cell.charCodeAt(cell.length - 1) === CR ? cell.slice(0, -1) : cell);
	return { cells, next: text.length };
}

/**
 * The records of a CSV stream (the header first, as any other record).
 * @throws InvalidInputError (400) for an unclosed quote at the end, or a record over the limit
 */
export async function* csvRecords(
	chunks: AsyncIterable<Uint8Array | string>,
	options: CsvRecordOptions = {},
): AsyncGenerator<string[]> {
	const delimiterText = options.delimiter ?? ",";
	const delimiter = delimiterText.charCodeAt(0);
	const maxChars = options.maxRecordChars ?? 16 * 1024 * 1024;
	const decoder = new StringDecoder("utf8");
	let pending = "";
	let first = true;

	for await (const chunk of chunks) {
		pending += typeof chunk === "string" ? chunk : decoder.write(chunk as Buffer);
		if (first && pending.length > 0) {
			if (pending.charCodeAt(0) === 0xfeff) pending = pending.slice(1);
			first = false;
		}
		let start = 0;
		// Where the next quote is (-1: none left in `pending`): looked up once, not per line.
		let quoteAt = pending.indexOf('"');
		for (;;) {
			const newline = pending.indexOf("\n", start);
			if (newline === -1) break;
			if (quoteAt !== -1 && quoteAt < start) quoteAt = pending.indexOf('"', start);
			if (quoteAt === -1 || quoteAt > newline) {
				const end =
					newline > start && pending.charCodeAt(newline - 1) === CR
						? newline - 1
						: newline;
				if (end > start) yield pending.slice(start, end).split(delimiterText);
				start = newline + 1;
				continue;
			}
			const parsed = parseQuoted(pending, start, delimiter, false);
			if (parsed === null) break;
			yield parsed.cells;
			start = parsed.next;
		}
		pending = pending.slice(start);
		if (pending.length > maxChars)
			throw new InvalidInputError(
				`A CSV record is longer than ${maxChars} characters; is the file CSV, with line breaks between records?`,
				{ where: "body" },
			);
	}
	pending += decoder.end();
	if (first && pending.charCodeAt(0) === 0xfeff) pending = pending.slice(1);
	let start = 0;
	while (start < pending.length) {
		const parsed = parseQuoted(pending, start, delimiter, true)!;
		if (parsed.cells.length > 1 || parsed.cells[0] !== "") yield parsed.cells;
		start = parsed.next;
	}
}
