import type { CloudEvent } from "../../../lib/domain-events/cloud-event";
import type { LoggedEvent } from "../../../lib/domain-events/event-log";
import {
	newestBefore,
	windowBefore,
	type FilteredLog,
} from "../../../lib/domain-events/newest-first";

/** A log of sequences 1…length whose filter takes those `taken` accepts, counting its calls. */
function fakeLog(length: number, taken: (seq: number) => boolean) {
	const seqs = Array.from({ length }, (_, i) => i + 1);
	const calls = { counts: 0, read: 0 };
	const logged = (seq: number): LoggedEvent => ({
		cursor: String(seq),
		event: { id: `e${seq}` } as CloudEvent,
	});
	const log: FilteredLog & { seqs: number[] } = {
		seqs,
		countFrom: async seq => {
			calls.counts++;
			return log.seqs.filter(s => s >= seq && taken(s)).length;
		},
		read: async (from, to) => {
			const window = log.seqs.filter(s => s >= from && s < to && taken(s));
			calls.read += window.length;
			return window.map(logged);
		},
	};
	return { log, calls };
}

const cursors = (items: LoggedEvent[]) => items.map(item => Number(item.cursor));

describe("newestBefore", () => {
	it("gives the newest messages before a position, newest first", async () => {
		const { log } = fakeLog(100, seq => seq % 2 === 0);
		expect(cursors(await newestBefore(log, 1, 101, 4))).toEqual([100, 98, 96, 94]);
		expect(cursors(await newestBefore(log, 1, 94, 3))).toEqual([92, 90, 88]);
		expect(cursors(await newestBefore(log, 1, 5, 10))).toEqual([4, 2]);
		expect(await newestBefore(log, 1, 1, 10)).toEqual([]);
	});

	it("pages through a sparse filter (one message in 1000) each once, reading little past each page", async () => {
		const taken = (seq: number) => seq % 1000 === 7;
		const { log, calls } = fakeLog(50_000, taken);
		const seen: number[] = [];
		let before = 50_001;
		for (;;) {
			const page = cursors(await newestBefore(log, 1, before, 4));
			if (page.length === 0) break;
			seen.push(...page);
			before = page[page.length - 1];
		}
		const expected = log.seqs.filter(taken).reverse();
		expect(seen).toEqual(expected);
		// Windows hold at most about twice a page: the 50 messages are read about once each.
		expect(calls.read).toBeLessThanOrEqual(2 * expected.length);
	});

	it("reaches the first message when the filter takes only the oldest ones", async () => {
		const { log, calls } = fakeLog(1_000_000, seq => seq <= 3);
		expect(cursors(await newestBefore(log, 1, 1_000_001, 10))).toEqual([3, 2, 1]);
		// Widening four-fold: about log4(10⁶) counts, not one per message.
		expect(calls.counts).toBeLessThan(20);
	});

	it("starts from the log's first kept message", async () => {
		const { log } = fakeLog(100, () => true);
		log.seqs = log.seqs.filter(seq => seq >= 60);
		expect(cursors(await newestBefore(log, 60, 63, 10))).toEqual([62, 61, 60]);
	});

	it("still fills the page when messages are written while it counts", async () => {
		const { log } = fakeLog(200, seq => seq % 3 === 0);
		const countFrom = log.countFrom;
		// Every count after the first sees 30 more of the filter's messages, written past the end.
		let counted = 0;
		log.countFrom = async seq => (await countFrom(seq)) + (counted++ > 0 ? 30 : 0);
		expect(cursors(await newestBefore(log, 1, 100, 5))).toEqual([99, 96, 93, 90, 87]);
	});
});

describe("windowBefore", () => {
	it("takes a window of the page's size when every message is the filter's", async () => {
		const { log, calls } = fakeLog(1000, () => true);
		expect(await windowBefore(log, 1, 1001, 50)).toEqual({ start: 951, held: 50 });
		expect(calls.counts).toBe(2);
	});

	it("holds at least the page and at most twice it", async () => {
		for (const every of [1, 2, 7, 31, 500]) {
			const { log } = fakeLog(100_000, seq => seq % every === 0);
			const { start, held } = await windowBefore(log, 1, 90_001, 20);
			expect(held).toBeGreaterThanOrEqual(20);
			expect(held).toBeLessThanOrEqual(40);
			expect(held).toBe(
				log.seqs.filter(s => s >= start && s < 90_001 && s % every === 0).length,
			);
		}
	});
});
