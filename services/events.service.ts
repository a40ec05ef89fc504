/**
 * events — the durable domain events of every tenant and their webhooks (docs/events.md). It
 * reads the event log (NATS JetStream on a fleet, the database on an all-in-one node) for the
 * events API, and owns the webhook endpoints and the delivery outbox: every event a tenant's
 * endpoint takes becomes a pending delivery in the database before it is sent, and the
 * dispatcher (lib/domain-events/webhook-dispatcher.ts) sends, retries and dead-letters them.
 * On a fleet it hears the events through a durable JetStream consumer (@moleculer/channels);
 * on an all-in-one node the other services hand them in through `record`.
 */
import type { ServiceSchema } from "moleculer";
import { fleetInternal, requires, scopeOf } from "../lib/accounts/access";
import { TYPE_PATTERN, type CloudEvent } from "../lib/domain-events/cloud-event";
import { parseCursor } from "../lib/domain-events/event-cursor";
import {
	DatabaseEventLog,
	type EventLog,
	type EventOrder,
	type EventPage,
} from "../lib/domain-events/event-log";
import {
	EVENTS_TOKEN,
	JetStreamEventLog,
	type EventStreamNames,
} from "../lib/domain-events/jetstream-event-log";
import { WebhookDispatcher } from "../lib/domain-events/webhook-dispatcher";
import type { RetryPolicy } from "../lib/domain-events/webhook-sender";
import { WebhookStore } from "../lib/domain-events/webhook-store";
import type { Database } from "../lib/db/database";
import { InvalidInputError, ServiceNotReadyError } from "../lib/errors";
import { SERVICE } from "../lib/fleet/node-role";
import { webhooksMixin } from "../mixins/events/webhooks.mixin";
import type { Ctx } from "../mixins/params";

export interface EventsServiceOptions {
	database: Database;
	/** Set on a fleet node: events live on JetStream under these names. Null: in the database. */
	jetstream: EventStreamNames | null;
	/** How long events are kept (the database log drops older ones; JetStream by its max_age). */
	retentionS: number;
	webhooks: {
		retry: RetryPolicy;
		timeoutMs: number;
		allowPrivate: boolean;
		pollMs: number;
		/** Deliveries sent at once; default 16. */
		concurrency?: number;
	};
}

/** How many events one list answers at most. */
const MAX_PAGE = 500;
/** How often the database log drops expired events. */
const EXPIRE_EVERY_MS = 60 * 60 * 1000;

interface ChannelsBroker {
	channelAdapter?: { connection: import("nats").NatsConnection };
}

export function eventsService(options: EventsServiceOptions): ServiceSchema {
	// Long because it is the service's schema (a declaration, not a procedure): the event log's
	// list and record actions, the fleet's durable consumer, and starting and stopping the sender.
	const { db } = options.database;
	const store = new WebhookStore(db);
	const databaseLog = new DatabaseEventLog(db);
	const retryForMs = options.webhooks.retry.retryForMs;
	let log: EventLog = databaseLog;
	let dispatcher: WebhookDispatcher;
	let expiry: NodeJS.Timeout | null = null;
	const nudge = () => dispatcher?.nudge();

	/** A fleet's events, heard through a durable consumer (one per fleet, shared by control nodes). */
	const channels = options.jetstream
		? {
				channels: {
					[`${EVENTS_TOKEN}.>`]: {
						group: "events-webhooks",
						// Never dropped: a failure (the database away) is redelivered until it works.
						maxRetries: Number.MAX_SAFE_INTEGER,
						maxInFlight: 16,
						nats: { consumerOptions: { config: { deliver_policy: "all" } } },
						async handler(event: CloudEvent) {
							if ((await store.enqueue(event, retryForMs)) > 0) nudge();
						},
					},
				},
			}
		: {};

	return {
		name: SERVICE.events,
		mixins: [
			webhooksMixin({
				store,
				allowPrivate: options.webhooks.allowPrivate,
				retryForMs,
				nudge,
			}),
		],
		...channels,

		actions: {
			/**
			 * `GET /api/v1/events`: the tenant's events after `after` (a cursor from an earlier
			 * answer; none: the oldest kept), oldest first, optionally of one `type` (`model.deployed`,
			 * `training.*`). Answers `{ items: [{ cursor, event }], nextCursor }`; `after=now` answers
			 * no items and the cursor of the newest event, to read on from. `order=desc` reads newest
			 * first: none, the newest; `after`, those older than it.
			 */
			list: requires("events.read", {
				params: {
					after: { type: "string", optional: true, max: 32 },
					type: {
						type: "string",
						optional: true,
						max: 128,
						pattern: TYPE_PATTERN,
					},
					limit: {
						type: "number",
						integer: true,
						min: 1,
						max: MAX_PAGE,
						default: 100,
						convert: true,
					},
					order: { type: "enum", values: ["asc", "desc"], default: "asc" },
				},
				async handler(
					ctx: Ctx<{ after?: string; type?: string; limit: number; order: EventOrder }>,
				): Promise<EventPage> {
					const { order } = ctx.params;
					// `now`: no events, and the cursor to read on from for what comes next.
					if (ctx.params.after === "now") {
						if (order === "desc")
							throw new InvalidInputError(
								"after=now reads on from the newest event, oldest first: leave after out to start newest first",
								{ field: "after" },
							);
						return { items: [], nextCursor: String(await log.head()) };
					}
					const after = parseCursor(ctx.params.after);
					return log.list(scopeOf(ctx).tenantId, {
						after,
						order,
						limit: ctx.params.limit,
						...(ctx.params.type !== undefined ? { type: ctx.params.type } : {}),
					});
				},
			}),

			/** An all-in-one node's durable event, from the service that emitted it. Fleet-internal. */
			record: fleetInternal({
				visibility: "public",
				params: { id: "string", type: "string", tenant: "string", $$strict: false },
				async handler(ctx: Ctx<CloudEvent>) {
					const event = ctx.params;
					const queued = await db.transaction(async tx => {
						if (!(await databaseLog.append(event, tx))) return 0;
						return store.enqueue(event, retryForMs, tx);
					});
					if (queued > 0) nudge();
					return { recorded: true };
				},
			}),
		},

		created() {
			dispatcher = new WebhookDispatcher(store, {
				retry: options.webhooks.retry,
				timeoutMs: options.webhooks.timeoutMs,
				allowPrivate: options.webhooks.allowPrivate,
				pollMs: options.webhooks.pollMs,
				concurrency: options.webhooks.concurrency ?? 16,
				warn: message => this.logger.warn(message),
			});
			if (options.jetstream) {
				const broker = this.broker as unknown as ChannelsBroker;
				log = new JetStreamEventLog(() => {
					if (!broker.channelAdapter?.connection)
						throw new ServiceNotReadyError(["the event log's NATS connection"]);
					return broker.channelAdapter.connection;
				}, options.jetstream);
			}
		},

		started() {
			dispatcher.start();
			if (log.kind === "database") {
				const expire = () =>
					void log
						.expire(new Date(Date.now() - options.retentionS * 1000))
						.catch(err => this.logger.warn("Could not drop expired events:", err));
				expire();
				expiry = setInterval(expire, EXPIRE_EVERY_MS);
				expiry.unref();
			}
		},

		async stopped() {
			if (expiry) clearInterval(expiry);
			await dispatcher.stop();
		},
	};
}
