/**
 * Domain events as CloudEvents 1.0 (structured JSON): which broker events are durable, the
 * CloudEvents `type` and `subject` of each, and the envelope every durable event travels in —
 * on NATS JetStream in a fleet, in the database of an all-in-one node, in every webhook body.
 * Internal events (node status, routing tables, cache traffic, single prediction failures)
 * stay broker-only: they carry no tenant, or are one per request.
 */
import { randomUUID } from "node:crypto";
import { EVENTS, type EventPayloads } from "../events";

export type EventName = keyof EventPayloads;

/** The CloudEvents type of every durable domain event starts with this. */
export const EVENT_TYPE_PREFIX = "io.modelfleet.";

/** A CloudEvents 1.0 envelope, with the `tenant` extension attribute. */
export interface CloudEvent<T = unknown> {
	specversion: "1.0";
	/** Unique per event (a UUID); receivers dedupe on it. */
	id: string;
	/** `/modelfleet/<namespace>/<nodeID>`: which node published it. */
	source: string;
	/** `io.modelfleet.<event>`, e.g. `io.modelfleet.model.deployed`. */
	type: string;
	time: string;
	/** What the event is about, e.g. `models/iris/versions/1.0.0`. */
	subject: string;
	/** The tenant id the event belongs to (CloudEvents extension attribute). */
	tenant: string;
	datacontenttype: "application/json";
	data: T;
}

type SubjectOf<E extends EventName> = (payload: EventPayloads[E]) => string;

const modelSubject = (p: { model: string }): string => `models/${p.model}`;
const versionSubject = (p: { model: string; version: string }): string =>
	`models/${p.model}/versions/${p.version}`;
const jobSubject = (p: { jobId: string }): string => `training-jobs/${p.jobId}`;

/**
 * Every broker event, durable (its subject) or not (null). A `Record` over every name, so a new
 * event in lib/events.ts fails the type check until someone decides which it is.
 */
const DURABLE: { [E in EventName]: SubjectOf<E> | null } = {
	[EVENTS.nodeStatus]: null,
	[EVENTS.nodeForgotten]: null,
	[EVENTS.modelCreated]: modelSubject,
	[EVENTS.modelUpdated]: modelSubject,
	[EVENTS.modelDeleted]: modelSubject,
	[EVENTS.versionCreated]: versionSubject,
	[EVENTS.versionUpdated]: versionSubject,
	[EVENTS.versionTransitioned]: versionSubject,
	[EVENTS.modelDeployed]: versionSubject,
	[EVENTS.modelRetired]: versionSubject,
	[EVENTS.aliasMoved]: p => `models/${p.model}/aliases/${p.alias}`,
	[EVENTS.aliasDeleted]: p => `models/${p.model}/aliases/${p.alias}`,
	[EVENTS.artifactStored]: null,
	[EVENTS.modelLoaded]: null,
	[EVENTS.modelEvicted]: null,
	// One per failed request: aggregated into prediction.summary instead.
	[EVENTS.predictionFailed]: null,
	[EVENTS.predictionSummary]: p =>
		p.version === null ? modelSubject(p) : versionSubject({ ...p, version: p.version }),
	[EVENTS.placementChanged]: null,
	[EVENTS.autoscalingTriggered]: p => `deployments/${p.model}`,
	[EVENTS.jobQueued]: jobSubject,
	[EVENTS.trainingStarted]: jobSubject,
	[EVENTS.trainingProgress]: jobSubject,
	[EVENTS.trainingCheckpoint]: jobSubject,
	[EVENTS.trainingCompleted]: jobSubject,
	[EVENTS.trainingFailed]: jobSubject,
	[EVENTS.resourceLimitExceeded]: p => `quotas/${p.quota}`,
	[EVENTS.driftDetected]: p => `deployments/${p.model}`,
	[EVENTS.performanceDegraded]: p => `deployments/${p.model}`,
	[EVENTS.healthCheck]: p => `deployments/${p.model}`,
};

/** The names of the durable events, in declaration order. */
export const DURABLE_EVENTS: readonly EventName[] = (Object.keys(DURABLE) as EventName[]).filter(
	name => DURABLE[name] !== null,
);

/** The CloudEvents type of a broker event. */
export function cloudEventType(event: EventName): string {
	return `${EVENT_TYPE_PREFIX}${event}`;
}

export function isDurable(event: string): event is EventName {
	return (DURABLE as Record<string, unknown>)[event] != null;
}

/** The CloudEvents envelope of a durable event; null for an internal one or one without a tenant. */
export function toCloudEvent<E extends EventName>(
	event: E,
	payload: EventPayloads[E],
	source: string,
	now: Date = new Date(),
): CloudEvent<EventPayloads[E]> | null {
	const subjectOf = DURABLE[event] as SubjectOf<E> | null;
	const tenant = (payload as { tenant?: unknown }).tenant;
	if (subjectOf === null || typeof tenant !== "string" || tenant === "") return null;
	return {
		specversion: "1.0",
		id: randomUUID(),
		source,
		type: cloudEventType(event),
		time: now.toISOString(),
		subject: subjectOf(payload),
		tenant,
		datacontenttype: "application/json",
		data: payload,
	};
}

/**
 * A type filter: exact types, `prefix.*` patterns and `*`. Short names (`model.deployed`) are
 * taken as `io.modelfleet.model.deployed`.
 */
export function normalizeTypePattern(pattern: string): string {
	if (pattern === "*" || pattern.startsWith(EVENT_TYPE_PREFIX)) return pattern;
	return `${EVENT_TYPE_PREFIX}${pattern}`;
}

/** What a type filter may look like: `*`, dotted names, optionally ending in `.*`. */
export const TYPE_PATTERN = /^(\*|[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*(\.\*)?)$/;

export function typeMatches(patterns: readonly string[], type: string): boolean {
	return patterns.some(raw => {
		const pattern = normalizeTypePattern(raw);
		if (pattern === "*") return true;
		if (pattern.endsWith(".*")) return type.startsWith(pattern.slice(0, -1));
		return pattern === type;
	});
}

/** Whether a pattern can match some durable event type (catches typos when a webhook is registered). */
export function isKnownTypePattern(raw: string): boolean {
	const pattern = normalizeTypePattern(raw);
	return DURABLE_EVENTS.some(name => typeMatches([pattern], cloudEventType(name)));
}
