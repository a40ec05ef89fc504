/**
 * The database event log of an all-in-one node, on both engines: an event is kept once however
 * often it is appended, read back per tenant in order after a cursor and by type, oldest or
 * newest first, page by page, and dropped after the retention period.
 */
import { randomUUID } from "node:crypto";
import type { CloudEvent } from "../../lib/domain-events/cloud-event";
import { DatabaseEventLog } from "../../lib/domain-events/event-log";
import { describeOnEachEngine } from "../support/databases";
import { everyEventPage } from "../support/event-pages";

describeOnEachEngine("database event log", database => {
	const a = randomUUID();
	const b = randomUUID();
	const event = (tenant: string, type: string, time: Date): CloudEvent => ({
		specversion: "1.0",
		id: randomUUID(),
		source: "/modelfleet/test/n",
		type: `io.modelfleet.${type}`,
		time: time.toISOString(),
		subject: "models/m",
		tenant,
		datacontenttype: "application/json",
		data: { type },
	});

	it("keeps each event once, and reads a tenant's back in order, by type and after a cursor", async () => {
		const log = new DatabaseEventLog(database().db);
		const now = new Date();
		const first = event(a, "model.created", now);
		expect(await log.append(first)).toBe(true);
		expect(await log.append(first)).toBe(false);
		await log.append(event(b, "model.created", now));
		await log.append(event(a, "training.started", now));
		await log.append(event(a, "training.completed", now));
		const all = await log.list(a, { after: 0, limit: 100 });
		expect(all.items.map(i => i.event.type)).toEqual([
			"io.modelfleet.model.created",
			"io.modelfleet.training.started",
			"io.modelfleet.training.completed",
		]);
		expect(all.items.every(i => i.event.tenant === a)).toBe(true);
		const training = await log.list(a, { after: 0, limit: 100, type: "training.*" });
		expect(training.items).toHaveLength(2);
		const next = await log.list(a, { after: Number(all.items[0].cursor), limit: 1 });
		expect(next.items.map(i => i.event.type)).toEqual(["io.modelfleet.training.started"]);
		expect(next.nextCursor).toBe(next.items[0].cursor);
		const none = await log.list(a, { after: Number(all.nextCursor), limit: 10 });
		expect(none).toEqual({ items: [], nextCursor: all.nextCursor });
		expect(await log.head()).toBeGreaterThanOrEqual(Number(all.nextCursor));
		// A `%` or `_` in a filter is no wildcard.
		expect((await log.list(a, { after: 0, limit: 10, type: "trainin_.*" })).items).toEqual([]);
	});

	it("pages a tenant's events newest first and oldest first, each once, in order", async () => {
		const log = new DatabaseEventLog(database().db);
		const c = randomUUID();
		const written: string[] = [];
		for (let i = 0; i < 23; i++) {
			const mine = event(c, i % 3 === 0 ? "training.started" : "model.created", new Date());
			await log.append(mine);
			written.push(mine.id);
			// Another tenant's events between: never in c's pages, never a gap in them.
			await log.append(event(b, "model.created", new Date()));
		}
		const ids = (pages: Array<Array<{ event: CloudEvent }>>) =>
			pages.flat().map(item => item.event.id);

		const newest = await everyEventPage(log, c, { order: "desc", limit: 5 });
		expect(newest.map(page => page.length)).toEqual([5, 5, 5, 5, 3]);
		expect(ids(newest)).toEqual([...written].reverse());
		const cursors = newest.flat().map(item => Number(item.cursor));
		expect(cursors).toEqual([...cursors].sort((x, y) => y - x));

		const oldest = await everyEventPage(log, c, { order: "asc", limit: 7 });
		expect(oldest.map(page => page.length)).toEqual([7, 7, 7, 2]);
		expect(ids(oldest)).toEqual(written);

		const started = await everyEventPage(log, c, {
			order: "desc",
			limit: 3,
			type: "training.started",
		});
		expect(ids(started)).toEqual(written.filter((_, i) => i % 3 === 0).reverse());

		// Newest first after a cursor: what is older than it; oldest first: what is newer.
		const middle = newest[1][2].cursor;
		const older = await log.list(c, { after: Number(middle), order: "desc", limit: 2 });
		expect(older.items.map(i => i.event.id)).toEqual([...written].reverse().slice(8, 10));
		const newer = await log.list(c, { after: Number(middle), limit: 2 });
		expect(newer.items.map(i => i.event.id)).toEqual(
			[...written].reverse().slice(5, 7).reverse(),
		);
		// Past either end: nothing, and the same cursor to read on from.
		expect(await log.list(c, { after: 1, order: "desc", limit: 5 })).toEqual({
			items: [],
			nextCursor: "1",
		});
	});

	it("drops events older than the retention period", async () => {
		const log = new DatabaseEventLog(database().db);
		const old = event(a, "model.deleted", new Date(Date.now() - 10 * 86_400_000));
		await log.append(old);
		const dropped = await log.expire(new Date(Date.now() - 7 * 86_400_000));
		expect(dropped).toBe(1);
		const left = await log.list(a, { after: 0, limit: 100 });
		expect(left.items.map(i => i.event.id)).not.toContain(old.id);
		expect(left.items.length).toBeGreaterThan(0);
	});
});
