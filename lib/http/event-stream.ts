/**
 * Server-Sent Events for the gateway: a stream per subscriber, grouped by topic (a training
 * job's id). Events are written as `event:` / `data:` lines; a topic's streams end when it
 * closes (the job is over). A subscriber that goes away is dropped when its stream closes
 * (the gateway destroys it with the response). Streams are counted by owner (the API key that
 * opened them), so a gateway can limit how many one key holds open.
 */
import { PassThrough } from "node:stream";

export class EventStreams {
	private readonly topics = new Map<string, Set<PassThrough>>();
	private readonly owners = new Map<string, number>();

	/**
	 * A new subscriber's stream; `backlog` is written first (what happened before it joined).
	 * `owner` (an API key id) is counted until the stream closes.
	 */
	open(
		topic: string,
		backlog: ReadonlyArray<{ event: string; data: unknown }> = [],
		owner?: string,
	): PassThrough {
		const stream = new PassThrough();
		if (owner !== undefined) {
			this.owners.set(owner, (this.owners.get(owner) ?? 0) + 1);
			stream.once("close", () => {
				const left = (this.owners.get(owner) ?? 1) - 1;
				if (left > 0) this.owners.set(owner, left);
				else this.owners.delete(owner);
			});
		}
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

	/** Streams `owner` holds open now. */
	openBy(owner: string): number {
		return this.owners.get(owner) ?? 0;
	}
}

function format(event: string, data: unknown): string {
	return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
