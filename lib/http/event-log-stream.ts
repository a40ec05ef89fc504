/**
 * A tenant's domain events as Server-Sent Events: the stream looks for events past its cursor
 * every poll, writes each as `id: <cursor>`, `event: <CloudEvents type>`, `data: <CloudEvent>`,
 * and moves its cursor on — so a client that reconnects with `Last-Event-ID` resumes right after
 * the last event it got, with none lost or repeated. A comment line every poll keeps proxies
 * from closing an idle stream. It stops polling when the client goes away, and ends itself
 * after its lifetime so that the client reconnects and its key is checked again.
 */
import { PassThrough } from "node:stream";
import type { EventPage } from "../domain-events/event-log";

export interface EventLogStreamOptions {
	/** The cursor to start after. */
	after: string;
	/** The tenant's events past a cursor. */
	read: (after: string) => Promise<EventPage>;
	pollMs: number;
	/**
	 * The stream ends after this long (asking the client to reconnect at once, with its
	 * Last-Event-ID), so its key is checked again: a revoked key stops receiving within it.
	 */
	lifetimeMs: number;
	/** A read failed (the stream goes on, and tries again next poll). */
	warn?: (err: unknown) => void;
}

/** Polls a read that returned a full page again at once, up to this many pages in a row. */
const PAGES_PER_POLL = 20;

export function openEventLogStream(options: EventLogStreamOptions): PassThrough {
	const stream = new PassThrough();
	let cursor = options.after;
	let timer: NodeJS.Timeout | null = null;
	let closed = false;

	const poll = async (): Promise<void> => {
		for (let page = 0; page < PAGES_PER_POLL && !closed; page++) {
			const { items, nextCursor } = await options.read(cursor);
			for (const { cursor: id, event } of items) {
				if (closed) return;
				stream.write(`id: ${id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
			}
			cursor = nextCursor;
			if (items.length === 0) break;
		}
		if (!closed) stream.write(": keep-alive\n\n");
	};
	const loop = () => {
		timer = null;
		if (closed) return;
		poll()
			.catch(err => options.warn?.(err))
			.finally(() => {
				if (!closed) {
					timer = setTimeout(loop, options.pollMs);
					timer.unref();
				}
			});
	};
	const stop = () => {
		closed = true;
		if (timer) clearTimeout(timer);
		clearTimeout(end);
	};
	const end = setTimeout(() => {
		if (!closed) stream.end("retry: 500\n\n");
		stop();
	}, options.lifetimeMs);
	end.unref();
	stream.once("close", stop);
	stream.once("error", stop);
	stream.write(": events\n\n");
	loop();
	return stream;
}
