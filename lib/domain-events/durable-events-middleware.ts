/**
 * The middlewares that make a fleet node's domain events durable: @moleculer/channels with its
 * NATS JetStream adapter — on its own connection, with the node's NATS servers, credentials and
 * TLS — publishing under the fleet's event subjects, and a start hook that creates the fleet's
 * event stream (or updates its retention) once the adapter is connected, so a node that only
 * publishes (a worker) never publishes into a stream that is not there.
 */
import * as Channels from "@moleculer/channels";
import type { Middleware, ServiceBroker } from "moleculer";
import type { ConnectionOptions, JetStreamManager } from "nats";
import { ensureEventStream, eventStreamConfig, eventStreamNames } from "./jetstream-event-log";

export interface DurableEventsOptions {
	namespace: string;
	retentionS: number;
	/** The node's NATS servers, authenticator and TLS (lib/fleet/nats-connect-options.ts). */
	servers: string[];
	connection: Pick<ConnectionOptions, "authenticator" | "tls">;
}

export function durableEventsMiddlewares(options: DurableEventsOptions): Middleware[] {
	const names = eventStreamNames(options.namespace);
	const streamConfig = eventStreamConfig(names, options.retentionS);
	const adapterOptions = {
		prefix: names.channelPrefix,
		nats: {
			connectionOptions: {
				servers: options.servers,
				...options.connection,
				name: "modelfleet-events",
				maxReconnectAttempts: -1,
			},
			// The one stream of the fleet's events: consumers subscribe inside it.
			streamConfig,
		},
	};
	// The middleware and the adapter fill in the rest of their options with their defaults.
	const channels = Channels.Middleware({
		adapter: { type: "NATS", options: adapterOptions },
	} as never) as unknown as Middleware;
	// A NATS without JetStream (or one that refuses it) must not keep the node from starting:
	// it runs on, says loudly that its events are not durable, and drops them instead of
	// retrying each into an adapter that is not there.
	const startChannels = channels.started as unknown as (this: unknown) => Promise<void>;
	let broker: ServiceBroker;
	channels.created = wrapCreated(channels.created, b => (broker = b));
	channels.started = async function (this: unknown) {
		try {
			await startChannels.call(this);
		} catch (err) {
			broker.logger.error(
				`NATS JetStream is not available (${(err as Error).message}): this node's domain events are not made durable (docs/events.md).`,
			);
			(broker as unknown as { sendToChannel: () => Promise<void> }).sendToChannel = () =>
				Promise.resolve();
		}
	} as never;
	const stream: Middleware = {
		name: "DurableEventStream",
		// The node that keeps the events (the events service) creates the stream, or brings its
		// retention up to date; publishers only publish into it.
		async started(b: ServiceBroker) {
			const adapter = (b as unknown as { channelAdapter?: { manager?: JetStreamManager } })
				.channelAdapter;
			if (adapter?.manager && b.getLocalService("events"))
				await ensureEventStream(adapter.manager, streamConfig);
		},
	};
	return [channels, stream];
}

function wrapCreated(
	created: Middleware["created"],
	also: (broker: ServiceBroker) => void,
): Middleware["created"] {
	return function (this: unknown, b: ServiceBroker) {
		also(b);
		return (created as (this: unknown, b: ServiceBroker) => void).call(this, b);
	} as never;
}
