/**
 * Emitting domain events (lib/events.ts) after the change they announce has committed: a lost
 * event must not fail the mutation that caused it, so a failed emit or broadcast is logged
 * once, as a warning, and never thrown. Payloads are typed by the event's name.
 *
 * Each durable event (lib/domain-events/cloud-event.ts) is also written, as a CloudEvent, to the
 * event log: on a fleet node to NATS JetStream through @moleculer/channels (`sendToChannel`,
 * acknowledged by JetStream before it counts, retried a few times, the event id as message id
 * so a retry is kept once); on an all-in-one node to its database through the local `events`
 * service. A service's durable events are written one after the other, in the order emitted.
 * Predictions are counted (`countPrediction`) and written as one `prediction.summary` per
 * model version and interval.
 */
import type { Context, ServiceBroker, ServiceSchema } from "moleculer";
import { toCloudEvent, type CloudEvent } from "../lib/domain-events/cloud-event";
import { eventChannel } from "../lib/domain-events/jetstream-event-log";
import { PredictionSummaries } from "../lib/domain-events/prediction-summary";
import { EVENTS, type EventPayloads } from "../lib/events";

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
	/** Counts one prediction request (failureType null: answered) for the interval's summary. */
	countPrediction(
		tenant: string,
		model: string,
		version: string | null,
		failureType: string | null,
	): void;
}

export interface DomainEventsOptions {
	/** Interval of the prediction summaries, in ms; default 60 000. */
	predictionSummaryMs?: number;
}

type ChannelSend = (channel: string, payload: unknown, opts: { msgID: string }) => Promise<void>;

interface EventsService {
	logger: { warn(...args: unknown[]): void };
	broker: ServiceBroker & { sendToChannel?: ChannelSend };
	durableChain?: Promise<void>;
	summaries?: PredictionSummaries;
	summaryTimer?: NodeJS.Timeout;
	writeDurable(event: EventName, payload: unknown): Promise<void>;
}

/** Attempts at writing one durable event, and the wait before each retry. */
const WRITE_RETRIES_MS = [250, 1000, 4000];

async function writeToLog(broker: EventsService["broker"], envelope: CloudEvent): Promise<void> {
	if (broker.sendToChannel) {
		for (let attempt = 0; ; attempt++) {
			try {
				await broker.sendToChannel(eventChannel(envelope), envelope, {
					msgID: envelope.id,
				});
				return;
			} catch (err) {
				if (attempt >= WRITE_RETRIES_MS.length) throw err;
				await new Promise(resolve => setTimeout(resolve, WRITE_RETRIES_MS[attempt]));
			}
		}
	}
	// One process: the events service keeps the log in the node's database, when it runs here.
	if (broker.getLocalService("events")) await broker.call("events.record", envelope);
}

export function domainEventsMixin(options: DomainEventsOptions = {}): Partial<ServiceSchema> {
	const methods: DomainEventMethods &
		Pick<EventsService, "writeDurable"> &
		ThisType<EventsService & DomainEventMethods> = {
		async emitEvent(event, payload, ctx) {
			void this.writeDurable(event, payload);
			// From a context the event carries the caller's meta and request id; else from the broker.
			const sent = ctx ? ctx.emit(event, payload) : this.broker.emit(event, payload);
			await sent.catch((err: unknown) => this.logger.warn(`Could not emit ${event}:`, err));
		},
		async broadcastEvent(event, payload) {
			void this.writeDurable(event, payload);
			await this.broker
				.broadcast(event, payload)
				.catch((err: unknown) => this.logger.warn(`Could not broadcast ${event}:`, err));
		},
		countPrediction(tenant, model, version, failureType) {
			this.summaries?.record(tenant, model, version, failureType);
		},
		writeDurable(event, payload) {
			const source = `/modelfleet/${this.broker.namespace || "default"}/${this.broker.nodeID}`;
			const envelope = toCloudEvent(event, payload as never, source);
			if (envelope === null) return Promise.resolve();
			const broker = this.broker;
			const written = (this.durableChain ?? Promise.resolve())
				.then(() => writeToLog(broker, envelope))
				.catch((err: unknown) =>
					this.logger.warn(
						`Could not write ${event} (${envelope.id}) to the event log:`,
						(err as Error).message,
					),
				);
			this.durableChain = written;
			return written;
		},
	};
	const summaryMs = options.predictionSummaryMs ?? 60_000;
	return {
		methods,
		created(this: EventsService) {
			this.summaries = new PredictionSummaries(this.broker.nodeID);
		},
		started(this: EventsService & DomainEventMethods) {
			this.summaryTimer = setInterval(() => {
				for (const summary of this.summaries?.drain() ?? [])
					void this.emitEvent(EVENTS.predictionSummary, summary);
			}, summaryMs);
			this.summaryTimer.unref();
		},
		async stopped(this: EventsService & DomainEventMethods) {
			if (this.summaryTimer) clearInterval(this.summaryTimer);
			// The last interval's counts, then whatever is still being written.
			for (const summary of this.summaries?.drain() ?? [])
				void this.emitEvent(EVENTS.predictionSummary, summary);
			await this.durableChain;
		},
	} as unknown as Partial<ServiceSchema>;
}
