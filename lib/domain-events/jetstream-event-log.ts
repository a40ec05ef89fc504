/**
 * The event log of a fleet: a NATS JetStream stream per fleet namespace, kept for the retention
 * period (`max_age`). Publishers (every node, through @moleculer/channels) write each event to
 * `<prefix>.<tenant>.<event name>` with its id as the message id, so JetStream drops a repeated
 * publish; readers take a tenant's events past a stream sequence through a short-lived consumer
 * filtered on the tenant's subjects, so one tenant never reads another's.
 */
import {
	AckPolicy,
	DeliverPolicy,
	DiscardPolicy,
	RetentionPolicy,
	StorageType,
	nanos,
	type JetStreamManager,
	type NatsConnection,
	type StreamConfig,
} from "nats";
import { normalizeTypePattern, type CloudEvent } from "./cloud-event";
import type { EventLog, EventPage, EventQuery } from "./event-log";
import { eventNameOf } from "./event-log";

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

export class JetStreamEventLog implements EventLog {
	readonly kind = "jetstream";

	constructor(
		private readonly connection: () => NatsConnection,
		private readonly names: EventStreamNames,
	) {}

	async list(tenantId: string, query: EventQuery): Promise<EventPage> {
		const nc = this.connection();
		const jsm = await nc.jetstreamManager();
		// Nothing written since: no consumer to make (an event stream's usual poll).
		const { last_seq } = (await jsm.streams.info(this.names.stream)).state;
		if (query.after >= last_seq) return { items: [], nextCursor: String(query.after) };
		const info = await jsm.consumers.add(this.names.stream, {
			filter_subject: tenantFilter(this.names.subjectPrefix, tenantId, query.type),
			deliver_policy: DeliverPolicy.StartSequence,
			opt_start_seq: query.after + 1,
			ack_policy: AckPolicy.None,
			inactive_threshold: nanos(30_000),
			mem_storage: true,
		});
		const items: EventPage["items"] = [];
		try {
			const wanted = Math.min(query.limit, info.num_pending);
			if (wanted > 0) {
				const consumer = await nc.jetstream().consumers.get(this.names.stream, info.name);
				const messages = await consumer.fetch({
					max_messages: wanted,
					expires: FETCH_EXPIRES_MS,
				});
				for await (const message of messages) {
					items.push({
						cursor: String(message.seq),
						event: message.json<CloudEvent>(),
					});
					if (items.length >= wanted) break;
				}
			}
		} finally {
			await jsm.consumers.delete(this.names.stream, info.name).catch(() => undefined);
		}
		return {
			items,
			nextCursor: items.length > 0 ? items[items.length - 1].cursor : String(query.after),
		};
	}

	async head(): Promise<number> {
		const jsm = await this.connection().jetstreamManager();
		return (await jsm.streams.info(this.names.stream)).state.last_seq;
	}

	async expire(): Promise<number> {
		return 0;
	}
}
