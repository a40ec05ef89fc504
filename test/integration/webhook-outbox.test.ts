/**
 * The webhook outbox on both database engines: an event becomes one delivery per matching,
 * enabled endpoint that existed when it happened, queued once however often it is handed in;
 * senders claim due deliveries with a lease that another sender respects until it lapses; a
 * disabled endpoint's deliveries wait; attempts end delivered, retried or dead.
 */
import { randomUUID } from "node:crypto";
import { tenants, webhookDeliveries } from "../../lib/db/schema";
import type { CloudEvent } from "../../lib/domain-events/cloud-event";
import { WebhookStore } from "../../lib/domain-events/webhook-store";
import { describeOnEachEngine } from "../support/databases";

const DAY = 86_400_000;

describeOnEachEngine("webhook outbox", database => {
	let store: WebhookStore;
	let clock = new Date("2030-01-01T00:00:00Z");
	const tenant = randomUUID();

	const event = (type: string, at = clock): CloudEvent => ({
		specversion: "1.0",
		id: randomUUID(),
		source: "/modelfleet/test/n",
		type: `io.modelfleet.${type}`,
		time: at.toISOString(),
		subject: "models/m",
		tenant,
		datacontenttype: "application/json",
		data: {},
	});

	beforeAll(async () => {
		await database()
			.db.insert(tenants)
			.values({ id: tenant, name: `outbox-${tenant}` });
		store = new WebhookStore(database().db, () => clock);
	});

	it("queues an event once per matching endpoint that existed when it happened", async () => {
		const models = await store.create(
			tenant,
			{ url: "https://a/", eventTypes: ["model.*"] },
			"whsec_a",
		);
		await store.create(tenant, { url: "https://b/", eventTypes: ["training.*"] }, "whsec_b");
		const e = event("model.created", new Date(Date.now() + DAY));
		expect(await store.enqueue(e, DAY)).toBe(1);
		expect(await store.enqueue(e, DAY)).toBe(0);
		// An event from before the endpoint was registered is not sent to it.
		expect(await store.enqueue(event("model.created", new Date(0)), DAY)).toBe(0);
		const due = await store.claimDue(10, 60_000);
		expect(due.map(d => [d.envelope.id, d.url, d.secret])).toEqual([
			[e.id, "https://a/", "whsec_a"],
		]);
		await store.recordAttempt(
			due[0].id,
			{ ok: true, status: 204, latencyMs: 3, error: null },
			clock,
			null,
		);
		const log = await store.deliveries(tenant, models.id, { limit: 10 });
		expect(log.items[0]).toMatchObject({ state: "delivered", attempts: 1, lastStatus: 204 });
		await store.delete(tenant, models.id);
	});

	it("claims each due delivery once until its lease lapses; a disabled endpoint's wait", async () => {
		const hook = await store.create(
			tenant,
			{ url: "https://c/", eventTypes: ["*"] },
			"whsec_c",
		);
		await store.enqueue(event("model.updated", new Date(Date.now() + DAY)), DAY);
		const first = await store.claimDue(10, 60_000);
		expect(first).toHaveLength(1);
		expect(await store.claimDue(10, 60_000)).toEqual([]);
		// The sender was killed mid-attempt: after the lease, another sender takes it.
		clock = new Date(clock.getTime() + 61_000);
		const again = await store.claimDue(10, 60_000);
		expect(again.map(d => d.id)).toEqual(first.map(d => d.id));
		// Failed: retried later, not before.
		const retryAt = new Date(clock.getTime() + 5000);
		await store.recordAttempt(
			again[0].id,
			{ ok: false, status: 500, latencyMs: 1, error: "500" },
			clock,
			retryAt,
		);
		expect(await store.claimDue(10, 60_000)).toEqual([]);
		clock = new Date(retryAt.getTime() + 1);
		await store.update(tenant, hook.id, { enabled: false });
		expect(await store.claimDue(10, 60_000)).toEqual([]);
		await store.update(tenant, hook.id, { enabled: true });
		const third = await store.claimDue(10, 60_000);
		expect(third).toHaveLength(1);
		// Out of retries: dead, and redeliverable.
		await store.recordAttempt(
			third[0].id,
			{ ok: false, status: null, latencyMs: 0, error: "timeout" },
			clock,
			null,
		);
		const [dead] = (await store.deliveries(tenant, hook.id, { limit: 10, state: "dead" }))
			.items;
		expect(dead).toMatchObject({ attempts: 2, lastError: "timeout", nextAttemptAt: null });
		expect(dead.log.map(a => a.status)).toEqual([500, null]);
		await store.redeliver(tenant, hook.id, dead.id, DAY);
		expect(await store.claimDue(10, 60_000)).toHaveLength(1);
		await database().db.delete(webhookDeliveries);
	});
});
