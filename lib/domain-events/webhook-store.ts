/**
 * The tenants' webhook endpoints and the delivery outbox (tables `webhook_endpoints`,
 * `webhook_deliveries`; the events service is their only user). An event becomes one pending
 * delivery per matching endpoint — idempotently, so an event handed over twice (a redelivered
 * JetStream message) is queued once. Senders claim due deliveries with a lease (`FOR UPDATE SKIP
 * LOCKED`), so several control nodes never send the same attempt together, and a sender killed
 * mid-attempt lets its claim lapse: the delivery is tried again after a restart.
 */
import { randomUUID } from "node:crypto";
import { and, asc, desc, eq, inArray, isNull, lt, lte, or } from "drizzle-orm";
import type { Db } from "../db/database";
import { webhookDeliveries, webhookEndpoints } from "../db/schema";
import { InvalidCursorError, NotFoundError } from "../errors";
import type { CloudEvent } from "./cloud-event";
import { typeMatches } from "./cloud-event";
import type { AttemptOutcome } from "./webhook-sender";

export interface EndpointView {
	id: string;
	url: string;
	description: string;
	eventTypes: string[];
	enabled: boolean;
	createdAt: string;
}

export interface EndpointInput {
	url: string;
	description?: string;
	eventTypes: string[];
	enabled?: boolean;
}

export type DeliveryState = "pending" | "delivered" | "dead";

export interface AttemptRecord {
	at: string;
	status: number | null;
	latencyMs: number;
	error: string | null;
}

export interface DeliveryView {
	id: string;
	endpointId: string;
	eventId: string;
	eventType: string;
	state: DeliveryState;
	attempts: number;
	nextAttemptAt: string | null;
	lastStatus: number | null;
	lastError: string | null;
	lastLatencyMs: number | null;
	createdAt: string;
	/** Every attempt, oldest first. */
	log: AttemptRecord[];
}

/** A claimed delivery, with what sending it needs. */
export interface DueDelivery {
	id: string;
	attempts: number;
	retryUntil: Date;
	envelope: CloudEvent;
	url: string;
	secret: string;
}

/** Attempts kept in a delivery's log (the newest); the count goes on in `attempts`. */
const LOG_KEEP = 50;

type EndpointRow = typeof webhookEndpoints.$inferSelect;
type DeliveryRow = typeof webhookDeliveries.$inferSelect;

function endpointView(row: EndpointRow): EndpointView {
	return {
		id: row.id,
		url: row.url,
		description: row.description,
		eventTypes: row.eventTypes as string[],
		enabled: row.enabled,
		createdAt: row.createdAt.toISOString(),
	};
}

function deliveryView(row: DeliveryRow): DeliveryView {
	return {
		id: row.id,
		endpointId: row.endpointId,
		eventId: row.eventId,
		eventType: row.eventType,
		state: row.state as DeliveryState,
		attempts: row.attempts,
		nextAttemptAt: row.state === "pending" ? row.nextAttemptAt.toISOString() : null,
		lastStatus: row.lastStatus,
		lastError: row.lastError,
		lastLatencyMs: row.lastLatencyMs,
		createdAt: row.createdAt.toISOString(),
		log: row.log as AttemptRecord[],
	};
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class WebhookStore {
	constructor(
		private readonly db: Db,
		private readonly now: () => Date = () => new Date(),
	) {}

	async create(
		tenantId: string,
		input: EndpointInput,
		secret: string,
	): Promise<EndpointView & { secret: string }> {
		const [row] = await this.db
			.insert(webhookEndpoints)
			.values({
				id: randomUUID(),
				tenantId,
				url: input.url,
				description: input.description ?? "",
				eventTypes: input.eventTypes,
				secret,
				enabled: input.enabled ?? true,
			})
			.returning();
		return { ...endpointView(row), secret };
	}

	async list(tenantId: string): Promise<EndpointView[]> {
		const rows = await this.db
			.select()
			.from(webhookEndpoints)
			.where(eq(webhookEndpoints.tenantId, tenantId))
			.orderBy(asc(webhookEndpoints.createdAt));
		return rows.map(endpointView);
	}

	private async row(tenantId: string, id: string): Promise<EndpointRow> {
		const rows = UUID.test(id)
			? await this.db
					.select()
					.from(webhookEndpoints)
					.where(
						and(eq(webhookEndpoints.tenantId, tenantId), eq(webhookEndpoints.id, id)),
					)
			: [];
		if (rows.length === 0) throw new NotFoundError("Webhook", id);
		return rows[0];
	}

	async get(tenantId: string, id: string): Promise<EndpointView> {
		return endpointView(await this.row(tenantId, id));
	}

	async update(
		tenantId: string,
		id: string,
		patch: Partial<EndpointInput> & { secret?: string },
	): Promise<EndpointView> {
		await this.row(tenantId, id);
		const [row] = await this.db
			.update(webhookEndpoints)
			.set({
				...(patch.url !== undefined ? { url: patch.url } : {}),
				...(patch.description !== undefined ? { description: patch.description } : {}),
				...(patch.eventTypes !== undefined ? { eventTypes: patch.eventTypes } : {}),
				...(patch.enabled !== undefined ? { enabled: patch.enabled } : {}),
				...(patch.secret !== undefined ? { secret: patch.secret } : {}),
			})
			.where(and(eq(webhookEndpoints.tenantId, tenantId), eq(webhookEndpoints.id, id)))
			.returning();
		return endpointView(row);
	}

	async delete(tenantId: string, id: string): Promise<EndpointView> {
		const row = await this.row(tenantId, id);
		await this.db.delete(webhookEndpoints).where(eq(webhookEndpoints.id, row.id));
		return endpointView(row);
	}

	/**
	 * Queues `event` for every enabled endpoint of its tenant whose filter takes it and that
	 * existed when it happened; an event queued before is not queued again. `db` lets a caller
	 * queue inside its own transaction. Answers how many deliveries are new.
	 */
	async enqueue(event: CloudEvent, retryForMs: number, db: Db = this.db): Promise<number> {
		if (!UUID.test(event.tenant)) return 0;
		const endpoints = await db
			.select()
			.from(webhookEndpoints)
			.where(
				and(
					eq(webhookEndpoints.tenantId, event.tenant),
					eq(webhookEndpoints.enabled, true),
				),
			);
		const eventTime = new Date(event.time);
		const targets = endpoints.filter(
			e => e.createdAt <= eventTime && typeMatches(e.eventTypes as string[], event.type),
		);
		if (targets.length === 0) return 0;
		const now = this.now();
		const rows = await db
			.insert(webhookDeliveries)
			.values(
				targets.map(e => ({
					id: randomUUID(),
					endpointId: e.id,
					tenantId: event.tenant,
					eventId: event.id,
					eventType: event.type,
					envelope: event,
					state: "pending",
					nextAttemptAt: now,
					retryUntil: new Date(now.getTime() + retryForMs),
				})),
			)
			.onConflictDoNothing()
			.returning({ id: webhookDeliveries.id });
		return rows.length;
	}

	/** Claims up to `limit` due deliveries for `leaseMs`: no other sender takes them meanwhile. */
	async claimDue(limit: number, leaseMs: number): Promise<DueDelivery[]> {
		const now = this.now();
		const claimed = await this.db.transaction(async tx => {
			const rows = await tx
				.select()
				.from(webhookDeliveries)
				.where(
					and(
						eq(webhookDeliveries.state, "pending"),
						lte(webhookDeliveries.nextAttemptAt, now),
						// A disabled endpoint's deliveries wait until it is enabled again.
						inArray(
							webhookDeliveries.endpointId,
							tx
								.select({ id: webhookEndpoints.id })
								.from(webhookEndpoints)
								.where(eq(webhookEndpoints.enabled, true)),
						),
						or(
							isNull(webhookDeliveries.lockedUntil),
							lt(webhookDeliveries.lockedUntil, now),
						),
					),
				)
				.orderBy(asc(webhookDeliveries.nextAttemptAt))
				.limit(limit)
				.for("update", { skipLocked: true });
			if (rows.length > 0)
				await tx
					.update(webhookDeliveries)
					.set({ lockedUntil: new Date(now.getTime() + leaseMs) })
					.where(
						inArray(
							webhookDeliveries.id,
							rows.map(r => r.id),
						),
					);
			return rows;
		});
		if (claimed.length === 0) return [];
		const endpoints = await this.db
			.select()
			.from(webhookEndpoints)
			.where(inArray(webhookEndpoints.id, [...new Set(claimed.map(r => r.endpointId))]));
		const byId = new Map(endpoints.map(e => [e.id, e]));
		return claimed.flatMap(row => {
			const endpoint = byId.get(row.endpointId);
			if (!endpoint) return [];
			return [
				{
					id: row.id,
					attempts: row.attempts,
					retryUntil: row.retryUntil,
					envelope: row.envelope as CloudEvent,
					url: endpoint.url,
					secret: endpoint.secret,
				},
			];
		});
	}

	/**
	 * Records an attempt: delivered, retried at `retryAt`, or dead-lettered (`retryAt` null on a
	 * failure).
	 */
	async recordAttempt(
		id: string,
		outcome: AttemptOutcome,
		at: Date,
		retryAt: Date | null,
	): Promise<void> {
		const [row] = await this.db
			.select({ log: webhookDeliveries.log, attempts: webhookDeliveries.attempts })
			.from(webhookDeliveries)
			.where(eq(webhookDeliveries.id, id));
		if (!row) return;
		const entry: AttemptRecord = {
			at: at.toISOString(),
			status: outcome.status,
			latencyMs: outcome.latencyMs,
			error: outcome.error,
		};
		const log = [...(row.log as AttemptRecord[]), entry].slice(-LOG_KEEP);
		const state: DeliveryState = outcome.ok ? "delivered" : retryAt ? "pending" : "dead";
		await this.db
			.update(webhookDeliveries)
			.set({
				state,
				attempts: row.attempts + 1,
				log,
				lastStatus: outcome.status,
				lastError: outcome.error,
				lastLatencyMs: outcome.latencyMs,
				lockedUntil: null,
				...(retryAt ? { nextAttemptAt: retryAt } : {}),
			})
			.where(eq(webhookDeliveries.id, id));
	}

	/** An endpoint's deliveries, newest first, paged by `before` (a cursor this list handed out). */
	async deliveries(
		tenantId: string,
		endpointId: string,
		query: { limit: number; cursor?: string; state?: DeliveryState },
	): Promise<{ items: DeliveryView[]; nextCursor: string | null }> {
		await this.row(tenantId, endpointId);
		// The cursor is the last item's creation time and id: deliveries made together page apart.
		let before: { at: Date; id: string } | undefined;
		if (query.cursor !== undefined) {
			const [at, id] = query.cursor.split("~");
			const time = new Date(at);
			if (Number.isNaN(time.getTime()) || time.toISOString() !== at || !UUID.test(id ?? ""))
				throw new InvalidCursorError();
			before = { at: time, id };
		}
		const rows = await this.db
			.select()
			.from(webhookDeliveries)
			.where(
				and(
					eq(webhookDeliveries.endpointId, endpointId),
					...(before
						? [
								or(
									lt(webhookDeliveries.createdAt, before.at),
									and(
										eq(webhookDeliveries.createdAt, before.at),
										lt(webhookDeliveries.id, before.id),
									),
								)!,
							]
						: []),
					...(query.state ? [eq(webhookDeliveries.state, query.state)] : []),
				),
			)
			.orderBy(desc(webhookDeliveries.createdAt), desc(webhookDeliveries.id))
			.limit(query.limit + 1);
		const items = rows.slice(0, query.limit).map(deliveryView);
		const last = items[items.length - 1];
		return {
			items,
			nextCursor: rows.length > query.limit ? `${last.createdAt}~${last.id}` : null,
		};
	}

	/** Sends a delivery again now (delivered or dead alike), with a new retry period. */
	async redeliver(
		tenantId: string,
		endpointId: string,
		deliveryId: string,
		retryForMs: number,
	): Promise<DeliveryView> {
		await this.row(tenantId, endpointId);
		const now = this.now();
		const rows = UUID.test(deliveryId)
			? await this.db
					.update(webhookDeliveries)
					.set({
						state: "pending",
						nextAttemptAt: now,
						retryUntil: new Date(now.getTime() + retryForMs),
						lockedUntil: null,
					})
					.where(
						and(
							eq(webhookDeliveries.id, deliveryId),
							eq(webhookDeliveries.endpointId, endpointId),
						),
					)
					.returning()
			: [];
		if (rows.length === 0) throw new NotFoundError("Delivery", deliveryId);
		return deliveryView(rows[0]);
	}

	/** Deliveries still to send (pending), across endpoints: for tests and operators. */
	async pendingCount(): Promise<number> {
		const rows = await this.db
			.select({ id: webhookDeliveries.id })
			.from(webhookDeliveries)
			.where(eq(webhookDeliveries.state, "pending"));
		return rows.length;
	}
}
