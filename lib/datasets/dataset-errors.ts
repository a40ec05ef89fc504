/**
 * The 400s a bad upload gets. Each names where the problem is — the data row (1-based, the
 * header not counted), the line of the file and the column — and says how to fix it; `data`
 * carries the same as plain JSON for clients. Values are never quoted: a message may be read
 * later (a training job's error) and must not tell what the file holds.
 */
import { InvalidInputError } from "../errors";

export interface CellLocation {
	/** Data row, 1-based (a CSV header is not a row). */
	row?: number;
	/** Line of the file, 1-based. */
	line?: number;
	column?: string;
}

/** "row 12 (line 13), column 'sepal_width'" — the parts known. */
export function describeLocation(at: CellLocation): string {
	const parts: string[] = [];
	if (at.row !== undefined)
		parts.push(at.line !== undefined ? `row ${at.row} (line ${at.line})` : `row ${at.row}`);
	else if (at.line !== undefined) parts.push(`line ${at.line}`);
	if (at.column !== undefined) parts.push(`column '${at.column}'`);
	return parts.join(", ");
}

/** A 400 whose message starts with the location: "Invalid dataset: row 3 (line 4), column 'x': …". */
export function datasetError(at: CellLocation, problem: string): InvalidInputError {
	const where = describeLocation(at);
	return new InvalidInputError(`Invalid dataset: ${where ? `${where}: ` : ""}${problem}`, {
		...at,
	});
}

/** What a JSON value is, for a message that must not quote it: "a string", "an array" … */
export function kindOfValue(value: unknown): string {
	if (value === null) return "null";
	if (Array.isArray(value)) return "an array";
	const kind = typeof value;
	return kind === "object" ? "an object" : `a ${kind}`;
}
