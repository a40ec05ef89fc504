/**
 * Reads a tenant's whole event log page by page, as a client does: `after` the previous page's
 * `nextCursor`, in one order, until a page comes back empty.
 */
import type { EventLog, EventOrder, LoggedEvent } from "../../lib/domain-events/event-log";

export async function everyEventPage(
	log: EventLog,
	tenant: string,
	query: { order: EventOrder; limit: number; type?: string },
): Promise<LoggedEvent[][]> {
	const pages: LoggedEvent[][] = [];
	let after = 0;
	for (;;) {
		const page = await log.list(tenant, { ...query, after });
		if (page.items.length === 0) {
			// The end: reading on from there stays at the end.
			if (after !== 0) expect(page.nextCursor).toBe(String(after));
			return pages;
		}
		expect(page.nextCursor).toBe(page.items[page.items.length - 1].cursor);
		pages.push(page.items);
		after = Number(page.nextCursor);
		if (pages.length > 10_000) throw new Error("the pages never end");
	}
}
