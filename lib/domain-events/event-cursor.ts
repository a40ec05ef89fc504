/**
 * An event's cursor: its position in the event log (a row or stream sequence), in decimal.
 * Clients pass back what the API handed out; anything else answers 400.
 */
import { InvalidCursorError } from "../errors";

/** The position a cursor names (empty or none: the beginning). */
export function parseCursor(cursor: string | undefined): number {
	if (cursor === undefined || cursor === "") return 0;
	if (!/^\d{1,15}$/.test(cursor)) throw new InvalidCursorError();
	return Number(cursor);
}
