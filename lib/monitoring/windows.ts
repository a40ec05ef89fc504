/**
 * Cutting a stream of stored capture batches into windows: a window closes when it holds
 * `windowRows` rows, or when `windowMinutes` have passed since its first row and it holds at
 * least `minRows` (fewer rows say too little about a distribution); windows end on a batch's
 * boundary (a serving node's flush: a request's rows, and a batch, are never split).
 */

export interface Timed {
	/** Rows the item (a batch) holds. */
	rows: number;
	/** When it happened, ms. */
	at: number;
}

export interface WindowRule {
	windowRows: number;
	windowMinutes: number;
	/** Time-closed windows need this many rows. Default 30. */
	minRows?: number;
}

/**
 * The closed windows of `items` (in order) as [start, end) index ranges; what follows the
 * last range is the open window.
 */
export function closedWindows(
	items: readonly Timed[],
	rule: WindowRule,
	now: number,
): Array<[number, number]> {
	const span = rule.windowMinutes * 60_000;
	const minRows = rule.minRows ?? 30;
	const out: Array<[number, number]> = [];
	let start = 0;
	let rows = 0;
	for (let i = 0; i < items.length; i++) {
		if (i > start && items[i].at - items[start].at >= span && rows >= minRows) {
			out.push([start, i]);
			start = i;
			rows = 0;
		}
		rows += items[i].rows;
		if (rows >= rule.windowRows) {
			out.push([start, i + 1]);
			start = i + 1;
			rows = 0;
		}
	}
	if (start < items.length && now - items[start].at >= span && rows >= minRows)
		out.push([start, items.length]);
	return out;
}
