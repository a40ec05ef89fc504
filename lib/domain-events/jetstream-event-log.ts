/**
 * The event log of a fleet: a NATS JetStream stream per fleet namespace, kept for the retention
 * period (`max_age`). Publishers (every node, through @moleculer/channels) write each event to
 * `<prefix>.<tenant>.<event name>` with its id as the message id, so JetStream drops a repeated
 * publish; readers take a tenant's events past a stream sequence through a short-lived consumer
 * filtered on the tenant's subjects, so one tenant never reads another's. Newest first, the
 * consumers count and read windows before the position (newest-first.ts).
 */
import {
	AckPolicy,
	DeliverPolicy,
	DiscardPolicy,
	RetentionPolicy,
	StorageType,
	nanos,
	type ConsumerInfo,
	type JetStreamManager,
	type NatsConnection,
	type StreamConfig,
} from "nats";
import { normalizeTypePattern, type CloudEvent } from "./cloud-event";
import type { EventLog, EventPage, EventQuery, LoggedEvent } from "./event-log";
import { eventNameOf, pageOf } from "./event-log";
import { newestBefore, type FilteredLog } from "./newest-first";

export interface EventStreamNames {
	/** The JetStream stream. */
	stream: string;
	/** @moleculer/channels' prefix: every subject it publishes on or delivers to starts with it. */
	channelPrefix: string;
	/** Every event's subject starts with it: `<channelPrefix>.<EVENTS_TOKEN>`. */
	subjectPrefix: string;
}

/**
 * The channel token under the prefix that holds the events. The consumers' own delivery
 * subjects (`<prefix>.<nodeID>.…`) must lie outside the stream, or JetStream refuses them
 * ("deliver subject forms a cycle").
 */
export const EVENTS_TOKEN = "_events";

/** The stream and subjects of a fleet namespace: parallel fleets on one NATS never mix. */
export function eventStreamNames(namespace: string): EventStreamNames {
	const safe = namespace.replace(/[^A-Za-z0-9_-]/g, "_") || "default";
	const channelPrefix = `mf-events.${safe}`;
	return {
		stream: `MF_EVENTS_${safe}`,
		channelPrefix,
		subjectPrefix: `${channelPrefix}.${EVENTS_TOKEN}`,
	};
}

/** The channel (subject after the channel prefix) an event is published on. */
export function eventChannel(event: CloudEvent): string {
	return `${EVENTS_TOKEN}.${event.tenant}.${eventNameOf(event.type)}`;
}

export function eventStreamConfig(
	names: EventStreamNames,
	retentionS: number,
	replicas = 1,
): Partial<StreamConfig> {
	return {
		name: names.stream,
		subjects: [`${names.subjectPrefix}.>`],
		retention: RetentionPolicy.Limits,
		storage: StorageType.File,
		discard: DiscardPolicy.Old,
		max_age: nanos(retentionS * 1000),
		// Ids repeated within this window are dropped (a publish retried after a lost ack).
		duplicate_window: nanos(Math.min(retentionS, 120) * 1000),
		num_replicas: replicas,
	};
}

/** Creates the stream, or brings an existing one's settings (retention) up to date. */
export async function ensureEventStream(
	jsm: JetStreamManager,
	config: Partial<StreamConfig>,
): Promise<void> {
	const name = config.name!;
	try {
		await jsm.streams.info(name);
		await jsm.streams.update(name, config);
	} catch (err) {
		if (!/not found/i.test((err as Error).message)) throw err;
		await jsm.streams.add(config);
	}
}

/** The subject filter of a tenant's events of a type (`model.deployed`, `training.*`, `*`). */
export function tenantFilter(prefix: string, tenantId: string, type: string | undefined): string {
	if (type === undefined || type === "*") return `${prefix}.${tenantId}.>`;
	const name = eventNameOf(normalizeTypePattern(type));
	return name.endsWith(".*")
		? `${prefix}.${tenantId}.${name.slice(0, -2)}.>`
		: `${prefix}.${tenantId}.${name}`;
}

/** How long a read waits for the messages its consumer said were there. */
const FETCH_EXPIRES_MS = 5000;
/** The most messages asked for in one fetch. */
const FETCH_BATCH = 500;

export class JetStreamEventLog implements EventLog {
	readonly kind = "jetstream";

	constructor(
		private readonly connection: () => NatsConnection,
		private readonly names: EventStreamNames,
	) {}

	async list(tenantId: string, query: EventQuery): Promise<EventPage> {
		const filter = tenantFilter(this.names.subjectPrefix, tenantId, query.type);
		const jsm = await this.connection().jetstreamManager();
		const { first_seq, last_seq, messages } = (await jsm.streams.info(this.names.stream)).state;
		if (messages === 0) return pageOf([], query.after);
		if (query.order === "desc") {
			const before = query.after > 0 ? Math.min(query.after, last_seq + 1) : last_seq + 1;
			const log = this.filtered(jsm, filter, last_seq);
			return pageOf(await newestBefore(log, first_seq, before, query.limit), query.after);
		}
		// Nothing written since: no consumer to make (an event stream's usual poll).
		if (query.after >= last_seq) return pageOf([], query.after);
		const read = { to: Number.POSITIVE_INFINITY, most: query.limit };
		return pageOf(await this.readFrom(jsm, filter, query.after + 1, read), query.after);
	}

	/** The stream through a subject filter, as newest-first reading sees it. */
	private filtered(jsm: JetStreamManager, filter: string, last: number): FilteredLog {
		const all = Number.POSITIVE_INFINITY;
		return {
			countFrom: async seq =>
				seq > last ? 0 : this.withConsumer(jsm, filter, seq, info => info.num_pending),
			// One more than counted: the first message past the window ends the read.
			read: (from, to, expected) =>
				this.readFrom(jsm, filter, from, { to, most: all }, expected + 1),
		};
	}

	/**
	 * The filter's messages from sequence `from` on, oldest first: those before `to`, `most` of
	 * them at most, fetched `batch` at a time.
	 */
	private async readFrom(
		jsm: JetStreamManager,
		filter: string,
		from: number,
		{ to, most }: { to: number; most: number },
		batch = most,
	): Promise<LoggedEvent[]> {
		const nc = this.connection();
		return this.withConsumer(jsm, filter, from, async info => {
			const events: LoggedEvent[] = [];
			let pending = info.num_pending;
			if (pending === 0) return events;
			const consumer = await nc.jetstream().consumers.get(this.names.stream, info.name);
			while (pending > 0 && events.length < most) {
				// Only messages the consumer has: asking for more waits out `expires`.
				const wanted = Math.min(pending, batch, most - events.length, FETCH_BATCH);
				const messages = await consumer.fetch({
					max_messages: wanted,
					expires: FETCH_EXPIRES_MS,
				});
				let got = 0;
				for await (const message of messages) {
					got++;
					pending--;
					if (message.seq >= to) return events;
					events.push({ cursor: String(message.seq), event: message.json<CloudEvent>() });
					if (got >= wanted) break;
				}
				if (got === 0) break;
			}
			return events;
		});
	}

	/** Runs `use` with a short-lived consumer of the filter from sequence `from`, then drops it. */
	private async withConsumer<T>(
		jsm: JetStreamManager,
		filter: string,
		from: number,
		use: (info: ConsumerInfo) => Promise<T> | T,
	): Promise<T> {
		const info = await jsm.consumers.add(this.names.stream, {
			filter_subject: filter,
			deliver_policy: DeliverPolicy.StartSequence,
			opt_start_seq: Math.max(1, from),
			ack_policy: AckPolicy.None,
			inactive_threshold: nanos(30_000),
			mem_storage: true,
		});
		try {
			return await use(info);
		} finally {
			await jsm.consumers.delete(this.names.stream, info.name).catch(() => undefined);
		}
	}

	async head(): Promise<number> {
		const jsm = await this.connection().jetstreamManager();
		return (await jsm.streams.info(this.names.stream)).state.last_seq;
	}

	async expire(): Promise<number> {
		return 0;
	}
}
