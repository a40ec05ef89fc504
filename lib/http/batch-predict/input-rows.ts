/**
 * The rows of a batch prediction, read from the request body as it streams: the body's format,
 * the tabular input rows go to, how CSV cells and columns map onto it (csv-chunks.ts reads the
 * CSV), and NDJSON rows (one instance per line: an object keyed by feature name, or an array of
 * values). A row that cannot be read becomes an error row (it gets an error line in the
 * answer); the rest go on.
 */
import { InvalidInputError } from "../../errors";
import { DEFAULT_MAX_JSON_DEPTH, parseClientJson } from "../../json-policy";
import type { FeatureSpec, ModelSchema, OipDatatype } from "../../model-spec/model-schema";

export const BATCH_FORMATS = ["csv", "ndjson"] as const;
export type BatchFormat = (typeof BATCH_FORMATS)[number];

/** One input row: its 0-based index among the data rows, and the instance or why there is none. */
export type BatchRow = { row: number; instance: unknown } | { row: number; error: string };

/** The tabular input of a version: the one input, shaped [rows, features]. */
export interface TabularInput {
	name: string;
	datatype: OipDatatype;
	/** Features per row when fixed. */
	width: number | null;
	features: readonly FeatureSpec[] | null;
}

/** Longest NDJSON line (in characters) before the body is refused. */
const MAX_LINE_CHARS = 16 * 1024 * 1024;

const CONTENT_TYPES: Readonly<Record<string, BatchFormat>> = {
	"text/csv": "csv",
	"application/csv": "csv",
	"application/x-ndjson": "ndjson",
	"application/ndjson": "ndjson",
	"application/jsonl": "ndjson",
	"application/x-jsonlines": "ndjson",
	"application/json-seq": "ndjson",
};

/**
 * The body's format: `format` when given, else from the Content-Type.
 * @throws InvalidInputError (400) when neither says CSV or NDJSON
 */
export function batchFormat(
	format: string | undefined,
	contentType: string | undefined,
): BatchFormat {
	const type = (contentType ?? "").split(";")[0].trim().toLowerCase();
	// The gateway parses application/json bodies whole before any action sees them.
	if (type === "application/json")
		throw new InvalidInputError(
			"A batch prediction's body streams: send NDJSON as application/x-ndjson (one instance per line) or CSV as text/csv, not application/json.",
			{ field: "format" },
		);
	if (format === "csv" || format === "ndjson") return format;
	const known = CONTENT_TYPES[type];
	if (known) return known;
	throw new InvalidInputError(
		`Send the rows as CSV (Content-Type: text/csv, a header row of feature names first) or NDJSON (Content-Type: application/x-ndjson, one instance per line), or say which with ?format=csv|ndjson${type ? `; '${type}' is neither` : ""}.`,
		{ field: "format" },
	);
}

/**
 * The version's tabular input.
 * @throws InvalidInputError (400) for a version that does not take one tabular input
 */
export function tabularInput(schema: ModelSchema, ref: string): TabularInput {
	const [input] = schema.inputs;
	if (schema.inputs.length !== 1 || input.shape.length !== 2)
		throw new InvalidInputError(
			`Batch prediction takes rows for one tabular input ([rows, features]); ${ref} takes ${schema.inputs
				.map(i => `'${i.name}' [${i.shape.join(", ")}]`)
				.join(", ")}. Send its tensors to /v2/models/{model}/infer instead.`,
			{ field: "model" },
		);
	const features = input.features && input.features.length > 0 ? input.features : null;
	return {
		name: input.name,
		datatype: input.datatype,
		width: features?.length ?? (input.shape[1] === -1 ? null : input.shape[1]),
		features,
	};
}

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;

/** How a CSV cell becomes a JSON value for its column: numbers, booleans, or strings kept. */
export function cellReader(
	datatype: OipDatatype,
	feature: FeatureSpec | undefined,
): (cell: string) => unknown {
	if (datatype === "BYTES") return cell => cell;
	if (datatype === "BOOL")
		return cell => {
			if (cell === "") return null;
			const lower = cell.toLowerCase();
			if (lower === "true" || cell === "1") return true;
			if (lower === "false" || cell === "0") return false;
			return cell;
		};
	const categories = new Set(
		(feature?.categories ?? []).filter((c): c is string => typeof c === "string"),
	);
	return cell => {
		if (categories.has(cell)) return cell;
		const text = cell.trim();
		if (text === "") return null;
		if (!NUMBER.test(text)) return cell;
		const value = Number(text);
		// Integers past 2^53 stay digits (INT64/UINT64 take them as strings, exactly).
		return INTEGER.test(text) && !Number.isSafeInteger(value) ? text : value;
	};
}

/**
 * Where each CSV column goes in a row (-1: nowhere), from the header.
 * @throws InvalidInputError (400) for a column that names no feature, a repeated one, or a
 *   width the input does not take
 */
export function csvColumns(header: readonly string[], input: TabularInput): number[] {
	const names = header.map(h => h.trim());
	const seen = new Set<string>();
	for (const name of names) {
		if (seen.has(name))
			throw new InvalidInputError(`The CSV header names column '${name}' twice.`, {
				field: "header",
			});
		seen.add(name);
	}
	if (input.features) {
		const index = new Map(input.features.map((f, i) => [f.name, i]));
		return names.map(name => {
			const at = index.get(name);
			if (at === undefined)
				throw new InvalidInputError(
					`CSV column '${name}' is not a feature of input '${input.name}' (${input.features!.map(f => f.name).join(", ")}).`,
					{ field: "header" },
				);
			return at;
		});
	}
	if (input.width !== null && names.length !== input.width)
		throw new InvalidInputError(
			`The CSV has ${names.length} columns; input '${input.name}' takes ${input.width} values per row.`,
			{ field: "header" },
		);
	return names.map((_, i) => i);
}

/**
 * The rows of an NDJSON body: each non-blank line one instance (an object or an array), parsed
 * under the JSON decoding policy (a line too deep or holding NUL is that row's error).
 */
export async function* ndjsonRows(
	chunks: AsyncIterable<Uint8Array | string>,
	maxDepth: number = DEFAULT_MAX_JSON_DEPTH,
): AsyncGenerator<BatchRow> {
	const decoder = new TextDecoder("utf-8");
	let pending = "";
	let row = 0;
	const parse = (line: string): BatchRow | null => {
		const text = line.trim();
		if (text === "") return null;
		const at = row++;
		let value: unknown;
		try {
			value = parseClientJson(text, {
				maxDepth,
				what: `Row ${at}`,
				syntaxError: reason => new Error(`Row ${at} is not valid JSON (${reason}).`),
			});
		} catch (error) {
			return { row: at, error: (error as Error).message };
		}
		if (typeof value !== "object" || value === null)
			return {
				row: at,
				error: `Row ${at} must be an object keyed by feature name or an array of values; got ${text.slice(0, 40)}.`,
			};
		return { row: at, instance: value };
	};
	for await (const chunk of chunks) {
		pending += typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
		let start = 0;
		let newline: number;
		while ((newline = pending.indexOf("\n", start)) !== -1) {
			const parsed = parse(pending.slice(start, newline));
			start = newline + 1;
			if (parsed) yield parsed;
		}
		pending = pending.slice(start);
		if (pending.length > MAX_LINE_CHARS)
			throw new InvalidInputError(
				`An NDJSON line is longer than ${MAX_LINE_CHARS} characters; put one instance per line.`,
				{ where: "body" },
			);
	}
	pending += decoder.decode();
	const last = parse(pending);
	if (last) yield last;
}
