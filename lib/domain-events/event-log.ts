/**
 * Where durable events are kept and read back: the base interface, the cursor, and the
 * database log of an all-in-one node (table `domain_events`). A fleet keeps them on NATS
 * JetStream instead (jetstream-event-log.ts). Either way an event's cursor is its position in
 * the log — a row sequence or a stream sequence — written in decimal; reading `after` a cursor
 * gives the tenant's events past it in the order asked: oldest first (the events written since),
 * or newest first (the events older than it).
 */
import { and, asc, desc, eq, gt, like, lt, max } from "drizzle-orm";
import type { Db } from "../db/database";
import { domainEvents } from "../db/schema";
import { EVENT_TYPE_PREFIX, normalizeTypePattern, type CloudEvent } from "./cloud-event";

export interface LoggedEvent {
	/** Pass it back as `after` (or as SSE's Last-Event-ID) to read what came next. */
	cursor: string;
	event: CloudEvent;
}

/** `asc`: oldest first (the default); `desc`: newest first. */
export type EventOrder = "asc" | "desc";

export interface EventQuery {
	/**
	 * Events past this position in `order`: newer than it oldest first, older than it newest
	 * first; 0 for the beginning (the oldest kept, or the newest).
	 */
	after: number;
	/** Default `asc`. */
	order?: EventOrder;
	/** One type, `prefix.*` or `*` (short names take the `io.modelfleet.` prefix). */
	type?: string;
	limit: number;
}

export interface EventPage {
	items: LoggedEvent[];
	/** The last item's position (or `after` when there is none): where to read on, in the same order. */
	nextCursor: string;
}

/** A log of durable events (base of the database and JetStream logs). */
export interface EventLog {
	readonly kind: "database" | "jetstream";
	list(tenantId: string, query: EventQuery): Promise<EventPage>;
	/** The position of the newest event of the log (any tenant's): a cursor for "from now on". */
	head(): Promise<number>;
	/** Drops events older than the retention period (JetStream does it by itself). */
	expire(olderThan: Date): Promise<number>;
}

/** A type filter as a SQL LIKE pattern, or an exact type. */
function typeCondition(type: string | undefined) {
	if (type === undefined || type === "*") return [];
	const pattern = normalizeTypePattern(type);
	if (pattern.endsWith(".*"))
		return [like(domainEvents.type, `${pattern.slice(0, -1).replace(/[\\%_]/g, "\\$&")}%`)];
	return [eq(domainEvents.type, pattern)];
}

export class DatabaseEventLog implements EventLog {
	readonly kind = "database";

	constructor(private readonly db: Db) {}

	/** Appends an event (`db` lets the caller do it inside its own transaction); a repeated id is kept once. */
	async append(event: CloudEvent, db: Db = this.db): Promise<boolean> {
		const rows = await db
			.insert(domainEvents)
			.values({
				id: event.id,
				tenantId: event.tenant,
				type: event.type,
				time: new Date(event.time),
				envelope: event,
			})
			.onConflictDoNothing()
			.returning({ seq: domainEvents.seq });
		return rows.length > 0;
	}

	async list(tenantId: string, query: EventQuery): Promise<EventPage> {
		const newestFirst = query.order === "desc";
		const past = newestFirst
			? query.after > 0
				? [lt(domainEvents.seq, query.after)]
				: []
			: [gt(domainEvents.seq, query.after)];
		const rows = await this.db
			.select()
			.from(domainEvents)
			.where(and(eq(domainEvents.tenantId, tenantId), ...past, ...typeCondition(query.type)))
			.orderBy(newestFirst ? desc(domainEvents.seq) : asc(domainEvents.seq))
			.limit(query.limit);
		return pageOf(
			rows.map(row => ({ cursor: String(row.seq), event: row.envelope as CloudEvent })),
			query.after,
		);
	}

	async head(): Promise<number> {
		const [row] = await this.db.select({ seq: max(domainEvents.seq) }).from(domainEvents);
		return Number(row?.seq ?? 0);
	}

	async expire(olderThan: Date): Promise<number> {
		const rows = await this.db
			.delete(domainEvents)
			.where(lt(domainEvents.time, olderThan))
			.returning({ seq: domainEvents.seq });
		return rows.length;
	}
}

/** A page of the items read after `after`: reading on starts at the last one. */
export function pageOf(items: LoggedEvent[], after: number): EventPage {
	return {
		items,
		nextCursor: items.length > 0 ? items[items.length - 1].cursor : String(after),
	};
}

/** The event name inside a CloudEvents type (`io.modelfleet.model.deployed` → `model.deployed`). */
export function eventNameOf(type: string): string {
	return type.startsWith(EVENT_TYPE_PREFIX) ? type.slice(EVENT_TYPE_PREFIX.length) : type;
}
