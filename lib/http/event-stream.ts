/**
 * Server-Sent Events for the gateway: a stream per subscriber, grouped by topic (a training
 * job's id). Events are written as `event:` / `data:` lines; a topic's streams end when it
 * closes (the job is over). Subscribers that went away are dropped on the next write.
 */
import { PassThrough } from "node:stream";

export class EventStreams {
	private readonly topics = new Map<string, Set<PassThrough>>();

	/** A new subscriber's stream; `backlog` is written first (what happened before it joined). */
	open(
		topic: string,
		backlog: ReadonlyArray<{ event: string; data: unknown }> = [],
	): PassThrough {
		const stream = new PassThrough();
		for (const item of backlog) stream.write(format(item.event, item.data));
		let set = this.topics.get(topic);
		if (!set) {
			set = new Set();
			this.topics.set(topic, set);
		}
		set.add(stream);
		const drop = () => {
			set.delete(stream);
			if (set.size === 0 && this.topics.get(topic) === set) this.topics.delete(topic);
		};
		stream.once("close", drop);
		stream.once("error", drop);
		return stream;
	}

	publish(topic: string, event: string, data: unknown): void {
		for (const stream of this.topics.get(topic) ?? []) {
			if (!stream.destroyed) stream.write(format(event, data));
		}
	}

	/** Writes a last event and ends every stream of the topic. */
	close(topic: string, event: string, data: unknown): void {
		for (const stream of this.topics.get(topic) ?? []) {
			if (!stream.destroyed) stream.end(format(event, data));
		}
		this.topics.delete(topic);
	}

	subscribers(topic: string): number {
		return this.topics.get(topic)?.size ?? 0;
	}
}

function format(event: string, data: unknown): string {
	return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
