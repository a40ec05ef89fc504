/**
 * Aligned plain-text tables for the operator REPL: a header row, then one row per item,
 * columns padded to their widest cell and separated by two spaces (kubectl's look).
 */

export interface TableColumn {
	header: string;
	/** Numbers read best right-aligned. Default "left". */
	align?: "left" | "right";
}

const GAP = "  ";

/** The table as lines (no trailing spaces); a missing cell prints as empty. */
export function formatTable(
	columns: readonly TableColumn[],
	rows: readonly (readonly string[])[],
): string[] {
	const cellsOf = (row: readonly string[]): string[] =>
		columns.map((_, i) => oneLine(row[i] ?? ""));
	const body = rows.map(cellsOf);
	const widths = columns.map((column, i) =>
		Math.max(column.header.length, ...body.map(cells => cells[i].length)),
	);
	const render = (cells: readonly string[]): string =>
		cells
			.map((cell, i) =>
				columns[i].align === "right" ? cell.padStart(widths[i]) : cell.padEnd(widths[i]),
			)
			.join(GAP)
			.trimEnd();
	return [render(columns.map(column => column.header)), ...body.map(render)];
}

/** A cell never breaks the table: line breaks and tabs become spaces. */
function oneLine(text: string): string {
	return text.replace(/[\r\n\t]+/g, " ");
}
