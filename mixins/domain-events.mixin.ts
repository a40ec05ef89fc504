/**
 * Emitting domain events (lib/events.ts) after the change they announce has committed: a lost
 * event must not fail the mutation that caused it, so a failed emit or broadcast is logged
 * once, as a warning, and never thrown. Payloads are typed by the event's name.
 */
import type { Context, ServiceSchema } from "moleculer";
import type { EventPayloads } from "../lib/events";

export type EventName = keyof EventPayloads;

export interface DomainEventMethods {
	/** Emits `event` (balanced: one listener per service) after a commit; never rejects. */
	emitEvent<E extends EventName>(
		event: E,
		payload: EventPayloads[E],
		ctx?: Context,
	): Promise<void>;
	/** Broadcasts `event` to every listener of every node; never rejects. */
	broadcastEvent<E extends EventName>(event: E, payload: EventPayloads[E]): Promise<void>;
}

interface Logging {
	logger: { warn(...args: unknown[]): void };
	broker: { emit: ServiceBrokerEmit; broadcast: ServiceBrokerEmit };
}
type ServiceBrokerEmit = (event: string, payload: unknown) => Promise<void>;

export function domainEventsMixin(): Partial<ServiceSchema> {
	const methods: DomainEventMethods & ThisType<Logging> = {
		async emitEvent(event, payload, ctx) {
			// From a context the event carries the caller's meta and request id; else from the broker.
			const sent = ctx ? ctx.emit(event, payload) : this.broker.emit(event, payload);
			await sent.catch((err: unknown) => this.logger.warn(`Could not emit ${event}:`, err));
		},
		async broadcastEvent(event, payload) {
			await this.broker
				.broadcast(event, payload)
				.catch((err: unknown) => this.logger.warn(`Could not broadcast ${event}:`, err));
		},
	};
	return { methods } as unknown as Partial<ServiceSchema>;
}
