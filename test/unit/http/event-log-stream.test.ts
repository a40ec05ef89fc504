import type { PassThrough } from "node:stream";
import type { CloudEvent } from "../../../lib/domain-events/cloud-event";
import type { EventPage } from "../../../lib/domain-events/event-log";
import { openEventLogStream } from "../../../lib/http/event-log-stream";

const event = (n: number) => ({ id: `e${n}`, type: "io.modelfleet.model.created" }) as CloudEvent;

/** A log of `count` events, read 2 at a time, recording each cursor asked for. */
function log(count: () => number, asked: string[]) {
	return async (after: string): Promise<EventPage> => {
		asked.push(after);
		const from = Number(after);
		const items = [];
		for (let n = from + 1; n <= Math.min(count(), from + 2); n++)
			items.push({ cursor: String(n), event: event(n) });
		return { items, nextCursor: items.length ? items[items.length - 1].cursor : after };
	};
}

function collect(stream: PassThrough): { text: () => string } {
	let text = "";
	stream.on("data", (chunk: Buffer) => (text += chunk.toString()));
	return { text: () => text };
}

describe("openEventLogStream", () => {
	it("writes every event after its cursor with its cursor as id, page after page, then what comes", async () => {
		let count = 5;
		const asked: string[] = [];
		const stream = openEventLogStream({
			after: "1",
			read: log(() => count, asked),
			pollMs: 20,
			lifetimeMs: 60_000,
		});
		const out = collect(stream);
		await new Promise(resolve => setTimeout(resolve, 60));
		count = 6;
		await new Promise(resolve => setTimeout(resolve, 80));
		stream.destroy();
		const ids = [...out.text().matchAll(/^id: (\d+)$/gm)].map(m => m[1]);
		expect(ids).toEqual(["2", "3", "4", "5", "6"]);
		expect(out.text()).toContain('event: io.modelfleet.model.created\ndata: {"id":"e2"');
		expect(asked.slice(0, 3)).toEqual(["1", "3", "5"]);
	});

	it("keeps going after a failed read, and ends itself after its lifetime", async () => {
		let fail = true;
		const warn = jest.fn();
		const stream = openEventLogStream({
			after: "0",
			read: async after => {
				if (fail) {
					fail = false;
					throw new Error("control away");
				}
				return log(() => 1, [])(after);
			},
			pollMs: 10,
			lifetimeMs: 150,
			warn,
		});
		const out = collect(stream);
		await new Promise(resolve => stream.once("end", resolve));
		expect(warn).toHaveBeenCalledTimes(1);
		expect(out.text()).toContain("id: 1\n");
		expect(out.text().endsWith("retry: 500\n\n")).toBe(true);
	});
});
