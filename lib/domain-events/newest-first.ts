/**
 * Reading a filtered log newest first when it can only be read forwards, as a JetStream stream
 * (its consumers deliver in sequence order, and a tenant's events are scattered among every
 * tenant's). The window before the position is widened backwards until it holds enough of the
 * filter's messages — counted, not read, which JetStream answers from its index — then narrowed
 * so no more than about twice the page is read, and read forwards.
 */
import type { LoggedEvent } from "./event-log";

/** A log seen through a filter (a tenant's subjects, a type). */
export interface FilteredLog {
	/** How many messages at or after `seq` the filter takes. */
	countFrom(seq: number): Promise<number>;
	/** The filter's messages from `from` (inclusive) to `to` (exclusive), oldest first. */
	read(from: number, to: number, expected: number): Promise<LoggedEvent[]>;
}

/**
 * The newest `limit` messages of the filter with a sequence from `first` to before `before`,
 * newest first. Messages written meanwhile (after `before`) only make a window hold fewer than
 * counted; the loop then widens it again, so a page is never cut short while older ones remain.
 */
export async function newestBefore(
	log: FilteredLog,
	first: number,
	before: number,
	limit: number,
): Promise<LoggedEvent[]> {
	const newest: LoggedEvent[] = [];
	let upper = before;
	while (newest.length < limit && upper > first) {
		const need = limit - newest.length;
		const { start, held } = await windowBefore(log, first, upper, need);
		const window = await log.read(start, upper, held);
		newest.push(...window.reverse());
		upper = start;
	}
	return newest.slice(0, limit);
}

/**
 * Where a window ending before `upper` starts so that it holds at least `need` messages (or
 * reaches `first`), and at most about twice that: sizes need, 4·need, 16·need… back from `upper`
 * until one holds enough, then halving between the last two.
 */
export async function windowBefore(
	log: FilteredLog,
	first: number,
	upper: number,
	need: number,
): Promise<{ start: number; held: number }> {
	const atUpper = await log.countFrom(upper);
	const heldFrom = async (start: number) => (await log.countFrom(start)) - atUpper;
	// `short` always starts a window holding fewer than `need`: the empty one at first.
	let short = upper;
	let start = Math.max(first, upper - need);
	let held = await heldFrom(start);
	while (held < need && start > first) {
		short = start;
		start = Math.max(first, upper - (upper - start) * 4);
		held = await heldFrom(start);
	}
	while (held > 2 * need && short - start > 1) {
		const middle = Math.floor((start + short) / 2);
		const inMiddle = await heldFrom(middle);
		if (inMiddle >= need) {
			start = middle;
			held = inMiddle;
		} else short = middle;
	}
	return { start, held };
}
