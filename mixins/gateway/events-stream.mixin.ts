/**
 * The domain event stream on the gateway: `GET /api/v1/events/stream` as Server-Sent Events —
 * the tenant's durable events as they are written, resumable with `Last-Event-ID`
 * (lib/http/event-log-stream.ts), read from the events service every poll.
 */
import type { PassThrough } from "node:stream";
import type { ServiceSchema } from "moleculer";
import { requires } from "../../lib/accounts/access";
import type { FleetTrust } from "../../lib/accounts/fleet-trust";
import type { Role } from "../../lib/accounts/roles";
import { TYPE_PATTERN } from "../../lib/domain-events/cloud-event";
import { parseCursor } from "../../lib/domain-events/event-cursor";
import type { EventPage } from "../../lib/domain-events/event-log";
import { TooManyInFlightError } from "../../lib/errors";
import { SERVICE } from "../../lib/fleet/node-role";
import { openEventLogStream } from "../../lib/http/event-log-stream";
import type { HttpContext } from "./http-context";

export interface EventsStreamOptions {
	trust: FleetTrust;
	/** How often a stream looks for new events, ms; default 1000. */
	eventsPollMs?: number;
	/** Event streams one API key may hold open; more answers 429. Default 16. */
	maxStreamsPerKey?: number;
}

/**
 * How long one stream lasts before the client reconnects (EventSource does so by itself, with
 * Last-Event-ID): its key is authenticated again then, so a revoked key stops receiving.
 */
export const STREAM_LIFETIME_MS = 5 * 60_000;

interface StreamParams {
	after?: string;
	type?: string;
}

export function eventsStreamMixin(options: EventsStreamOptions): Partial<ServiceSchema> {
	const open = new Map<string, number>();
	const streams = new Set<PassThrough>();
	const maxStreamsPerKey = options.maxStreamsPerKey ?? 16;
	return {
		actions: {
			/** `GET /api/v1/events/stream`: the tenant's domain events as Server-Sent Events. */
			eventStream: requires("events.read", {
				params: {
					after: { type: "string", optional: true, max: 32 },
					type: {
						type: "string",
						optional: true,
						max: 128,
						pattern: TYPE_PATTERN,
					},
				},
				async handler(ctx: HttpContext<StreamParams> & { meta: { lastEventId?: string } }) {
					// Last-Event-ID (a reconnecting browser) wins over `after`; neither: from now on.
					const given = ctx.meta.lastEventId ?? ctx.params.after ?? "now";
					if (given !== "now") parseCursor(given);
					const identity = {
						tenant: ctx.meta.tenant as string,
						role: ctx.meta.role as Role,
						keyId: ctx.meta.keyId ?? null,
					};
					const read = (after: string) =>
						// Signed afresh each poll: a stream outlives one signed identity.
						ctx.broker.call<EventPage, Record<string, unknown>>(
							`${SERVICE.events}.list`,
							{
								after,
								limit: 500,
								...(ctx.params.type ? { type: ctx.params.type } : {}),
							},
							{ meta: { identity: options.trust.sign(identity) } },
						);
					const start = given === "now" ? (await read("now")).nextCursor : given;
					const owner = identity.keyId ?? "";
					if ((open.get(owner) ?? 0) >= maxStreamsPerKey)
						throw new TooManyInFlightError(
							"event streams",
							maxStreamsPerKey,
							"MODELFLEET_MAX_STREAMS_PER_KEY",
						);
					ctx.meta.$responseType = "text/event-stream";
					ctx.meta.$responseHeaders = {
						"Cache-Control": "no-cache",
						"X-Accel-Buffering": "no",
					};
					const stream = openEventLogStream({
						after: start,
						read,
						pollMs: options.eventsPollMs ?? 1000,
						lifetimeMs: STREAM_LIFETIME_MS,
						warn: err => ctx.service?.logger.warn("Event stream read failed:", err),
					});
					open.set(owner, (open.get(owner) ?? 0) + 1);
					streams.add(stream);
					stream.once("close", () => {
						streams.delete(stream);
						const left = (open.get(owner) ?? 1) - 1;
						if (left > 0) open.set(owner, left);
						else open.delete(owner);
					});
					return stream;
				},
			}),
		},
		stopped() {
			// A stream never ends by itself: the gateway ends them when it stops.
			for (const stream of streams) stream.end();
		},
	};
}
