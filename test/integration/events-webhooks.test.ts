/**
 * Durable domain events and webhooks on an all-in-one node (its events in its database): the
 * events API in order, by type and cursor, and per tenant; the SSE stream with Last-Event-ID
 * resume; webhook endpoints per tenant, deliveries verified by a `standardwebhooks` receiver,
 * retries with growing delays and a dead letter for a receiver that answers 500, the delivery
 * log and redelivery by id.
 */
import {
	FAST_LOOPS_CPU_ONLY,
	apiClient,
	startTestNode,
	type TestNode,
	type TestReply,
	type TestRequestInit,
} from "../support/test-node";
import { readSse } from "../support/sse-reader";
import { waitFor } from "../support/wait";
import { WebhookReceiver } from "../support/webhook-receiver";

const A_KEY = "mf_events-webhooks-owner-a";

interface LoggedEvent {
	cursor: string;
	event: { id: string; type: string; tenant: string; subject: string; data: { model?: string } };
}
interface EventPage {
	items: LoggedEvent[];
	nextCursor: string;
}
interface Delivery {
	id: string;
	eventId: string;
	state: string;
	attempts: number;
	lastStatus: number | null;
	lastLatencyMs: number | null;
	log: Array<{ at: string; status: number | null }>;
}

describe("durable events and webhooks on an all-in-one node", () => {
	let testNode: TestNode;
	let receiver: WebhookReceiver;
	let asA: (path: string, init?: TestRequestInit) => Promise<TestReply>;
	let asB: (path: string, init?: TestRequestInit) => Promise<TestReply>;
	let bKey: string;
	let tenantA: string;

	const createModel = async (client: typeof asA, name: string) => {
		const reply = await client("/models", {
			method: "POST",
			body: { name, task: "classification", framework: "onnx" },
		});
		expect(reply.status).toBe(201);
	};
	const events = async (client: typeof asA, query = ""): Promise<EventPage> => {
		const reply = await client(`/events${query}`);
		expect(reply.status).toBe(200);
		return reply.body as EventPage;
	};

	beforeAll(async () => {
		receiver = await WebhookReceiver.start();
		testNode = await startTestNode(A_KEY, {
			...FAST_LOOPS_CPU_ONLY,
			LOG_LEVEL: "error",
			// The receiver listens on 127.0.0.1.
			MODELFLEET_WEBHOOK_ALLOW_PRIVATE: "true",
			MODELFLEET_WEBHOOK_RETRY_BASE_MS: "400",
			MODELFLEET_WEBHOOK_RETRY_MAX_MS: "3000",
			MODELFLEET_WEBHOOK_RETRY_FOR_S: "8",
			MODELFLEET_WEBHOOK_POLL_MS: "50",
			MODELFLEET_EVENTS_STREAM_POLL_MS: "50",
		});
		asA = apiClient(testNode.api, A_KEY);
		const b = await asA("/tenants", { method: "POST", body: { name: "events-b" } });
		expect(b.status).toBe(201);
		bKey = (b.body as { ownerKey: { key: string } }).ownerKey.key;
		asB = apiClient(testNode.api, bKey);
		tenantA = ((await asA("/tenant")).body as { id: string }).id;
	});

	afterAll(async () => {
		await testNode?.stop();
		await receiver?.stop();
	});

	it("lists a tenant's events in order, as CloudEvents, by type and after a cursor", async () => {
		const start = (await events(asA, "?after=now")).nextCursor;
		for (const name of ["ev-one", "ev-two", "ev-three"]) await createModel(asA, name);
		await asA("/models/ev-two", { method: "PATCH", body: { description: "second" } });
		const page = await waitFor(
			"four events",
			async () => {
				const p = await events(asA, `?after=${start}`);
				return p.items.length >= 4 ? p : undefined;
			},
			10_000,
		);
		expect(page.items.map(i => [i.event.type, i.event.data.model])).toEqual([
			["io.modelfleet.model.created", "ev-one"],
			["io.modelfleet.model.created", "ev-two"],
			["io.modelfleet.model.created", "ev-three"],
			["io.modelfleet.model.updated", "ev-two"],
		]);
		const first = page.items[0].event;
		expect(first).toMatchObject({
			specversion: "1.0",
			source: expect.stringMatching(/^\/modelfleet\//),
			subject: "models/ev-one",
			tenant: tenantA,
			datacontenttype: "application/json",
		});
		expect(new Date((first as unknown as { time: string }).time).getTime()).toBeGreaterThan(0);
		// Cursors grow; reading after one gives what came next.
		const cursors = page.items.map(i => Number(i.cursor));
		expect([...cursors].sort((a, b) => a - b)).toEqual(cursors);
		const rest = await events(asA, `?after=${page.items[1].cursor}`);
		expect(rest.items.map(i => i.event.data.model)).toEqual(["ev-three", "ev-two"]);
		// By type, exact or by prefix; short names and full types alike.
		const updated = await events(asA, `?after=${start}&type=model.updated`);
		expect(updated.items.map(i => i.event.data.model)).toEqual(["ev-two"]);
		const models = await events(asA, `?after=${start}&type=io.modelfleet.model.*`);
		expect(models.items).toHaveLength(4);
		// Paged.
		const two = await events(asA, `?after=${start}&limit=2`);
		expect(two.items).toHaveLength(2);
		expect(two.nextCursor).toBe(two.items[1].cursor);
	});

	it("lists newest first with order=desc, each page older than the last", async () => {
		// The first test's four events are A's newest: model.updated of ev-two the newest.
		const first = await events(asA, "?order=desc&limit=3");
		expect(first.items.map(i => [i.event.type, i.event.data.model])).toEqual([
			["io.modelfleet.model.updated", "ev-two"],
			["io.modelfleet.model.created", "ev-three"],
			["io.modelfleet.model.created", "ev-two"],
		]);
		expect(first.nextCursor).toBe(first.items[2].cursor);
		const next = await events(asA, `?order=desc&limit=3&after=${first.nextCursor}`);
		expect(next.items[0].event.data.model).toBe("ev-one");
		const cursors = [...first.items, ...next.items].map(i => Number(i.cursor));
		expect(cursors).toEqual([...cursors].sort((x, y) => y - x));
		// Every page until an empty one: each of A's events once, and only A's.
		const all = [...first.items, ...next.items];
		for (let page = next; page.items.length > 0;) {
			page = await events(asA, `?order=desc&limit=3&after=${page.nextCursor}`);
			if (page.items.length > 0) all.push(...page.items);
		}
		const oldestFirst = await events(asA, "?limit=500");
		expect(all.map(i => i.cursor)).toEqual(oldestFirst.items.map(i => i.cursor).reverse());
		expect(all.every(i => i.event.tenant === tenantA)).toBe(true);
		const updated = await events(asA, "?order=desc&type=model.updated");
		expect(updated.items.map(i => i.event.data.model)).toEqual(["ev-two"]);
	});

	it("answers 400 for a cursor it never handed out", async () => {
		for (const bad of ["abc", "-1", "1.5", "9999999999999999999", "1e3", "0x10", " 1", "1 "])
			for (const order of ["asc", "desc"]) {
				const reply = await asA(`/events?order=${order}&after=${encodeURIComponent(bad)}`);
				expect({ bad, order, status: reply.status }).toEqual({ bad, order, status: 400 });
				expect(reply.body).toMatchObject({ type: "INVALID_CURSOR" });
			}
		// after=now reads on from now, oldest first; newest first it means nothing.
		const now = await asA("/events?order=desc&after=now");
		expect(now.status).toBe(400);
		expect(now.body).toMatchObject({ type: "INVALID_INPUT", data: { field: "after" } });
		for (const query of [
			"order=newest",
			"order=DESC",
			"order=",
			"order[]=desc",
			"order=desc&order=asc",
			`after=${"1".repeat(40)}`,
			"after[]=1",
			"after=%00",
		]) {
			const reply = await asA(`/events?${query}`);
			expect({ query, client: reply.status >= 400 && reply.status < 500 }).toEqual({
				query,
				client: true,
			});
		}
		const stream = await fetch(`${testNode.api}/events/stream`, {
			headers: { authorization: `Bearer ${A_KEY}`, "last-event-id": "not-a-cursor" },
		});
		expect(stream.status).toBe(400);
		await stream.body?.cancel();
	});

	it("keeps tenants apart: B sees none of A's events, and A none of B's", async () => {
		await createModel(asB, "b-only");
		await waitFor(
			"B's event",
			async () => ((await events(asB)).items.length > 0 ? true : undefined),
			10_000,
		);
		const seenByB = (await events(asB)).items;
		expect(seenByB.every(i => i.event.tenant !== tenantA)).toBe(true);
		expect(seenByB.map(i => i.event.data.model)).toEqual(["b-only"]);
		const seenByA = (await events(asA)).items;
		expect(seenByA.some(i => i.event.data.model === "b-only")).toBe(false);
	});

	it("streams events as SSE, and resumes after Last-Event-ID", async () => {
		const open = await fetch(`${testNode.api}/events/stream?type=model.created`, {
			headers: { authorization: `Bearer ${A_KEY}` },
		});
		expect(open.status).toBe(200);
		expect(open.headers.get("content-type")).toMatch(/text\/event-stream/);
		const reading = readSse(open, 2);
		// The stream starts from now: created after it opened.
		await new Promise(resolve => setTimeout(resolve, 200));
		await createModel(asA, "sse-one");
		await createModel(asA, "sse-two");
		const frames = await reading;
		expect(frames.map(f => [f.event, f.data.data.model])).toEqual([
			["io.modelfleet.model.created", "sse-one"],
			["io.modelfleet.model.created", "sse-two"],
		]);
		// Reconnecting after the first resumes with the second: nothing lost, nothing repeated.
		const resumed = await fetch(`${testNode.api}/events/stream?type=model.created`, {
			headers: { authorization: `Bearer ${A_KEY}`, "last-event-id": frames[0].id },
		});
		const again = await readSse(resumed, 1);
		expect(again.map(f => [f.id, f.data.data.model])).toEqual([[frames[1].id, "sse-two"]]);
	});

	it("registers webhooks per tenant; only the owner's tenant sees them", async () => {
		const created = await asA("/webhooks", {
			method: "POST",
			body: { url: receiver.url("/ok"), eventTypes: ["model.*"], description: "all models" },
		});
		expect(created.status).toBe(201);
		const hook = created.body as { id: string; secret: string; eventTypes: string[] };
		expect(hook.secret).toMatch(/^whsec_[A-Za-z0-9+/=]{40,}$/);
		expect(created.headers.get("location")).toBe(`/api/v1/webhooks/${hook.id}`);
		const listed = (await asA("/webhooks")).body as Array<Record<string, unknown>>;
		expect(listed.map(h => h.id)).toContain(hook.id);
		expect(listed.every(h => !("secret" in h))).toBe(true);
		expect((await asB("/webhooks")).body).toEqual([]);
		expect((await asB(`/webhooks/${hook.id}`)).status).toBe(404);
		expect((await asB(`/webhooks/${hook.id}`, { method: "DELETE" })).status).toBe(404);
		expect((await asB(`/webhooks/${hook.id}/deliveries`)).status).toBe(404);
		// Filters must name events that exist.
		const typo = await asA("/webhooks", {
			method: "POST",
			body: { url: receiver.url("/ok"), eventTypes: ["model.deploy"] },
		});
		expect(typo.status).toBe(400);
		// A secret of the tenant's own, in the Standard Webhooks form.
		const own = `whsec_${Buffer.alloc(32, 7).toString("base64")}`;
		const brought = await asA("/webhooks", {
			method: "POST",
			body: { url: receiver.url("/ok"), eventTypes: ["alias.*"], secret: own },
		});
		expect(brought).toMatchObject({ status: 201, body: { secret: own } });
		await asA(`/webhooks/${(brought.body as { id: string }).id}`, { method: "DELETE" });
		for (const weak of ["whsec_c2hvcnQ=", "not-whsec", `whsec_${"!".repeat(40)}`]) {
			const refused = await asA("/webhooks", {
				method: "POST",
				body: { url: receiver.url("/ok"), eventTypes: ["*"], secret: weak },
			});
			expect(refused.status).toBe(400);
		}
		const ftp = await asA("/webhooks", {
			method: "POST",
			body: { url: "ftp://example.com/x", eventTypes: ["*"] },
		});
		expect(ftp.status).toBe(400);
		await asA(`/webhooks/${hook.id}`, { method: "DELETE" });
	});

	it("delivers each event signed, verified by standardwebhooks, with a delivery log", async () => {
		const created = (
			await asA("/webhooks", {
				method: "POST",
				body: { url: receiver.url("/ok"), eventTypes: ["model.created"] },
			})
		).body as { id: string; secret: string };
		receiver.trust(created.secret);
		await createModel(asA, "hooked");
		await asA("/models/hooked", { method: "PATCH", body: { description: "not for the hook" } });
		const delivery = await waitFor(
			"the delivery",
			() => receiver.deliveries.find(d => d.event.data.model === "hooked"),
			10_000,
			25,
		);
		expect(delivery.event.type).toBe("io.modelfleet.model.created");
		expect(delivery.webhookId).toBe(delivery.event.id);
		expect(receiver.unverified).toEqual([]);
		const log = await waitFor(
			"the delivered log entry",
			async () => {
				const page = (await asA(`/webhooks/${created.id}/deliveries`)).body as {
					items: Delivery[];
				};
				const entry = page.items.find(d => d.eventId === delivery.event.id);
				return entry?.state === "delivered" ? entry : undefined;
			},
			5000,
		);
		expect(log).toMatchObject({ attempts: 1, lastStatus: 204 });
		expect(log.lastLatencyMs).toBeGreaterThanOrEqual(0);
		// Only model.created: the update was not sent.
		expect(receiver.deliveries.filter(d => d.event.data.model === "hooked")).toHaveLength(1);
		await asA(`/webhooks/${created.id}`, { method: "DELETE" });
	});

	it("retries a receiver that answers 500 with growing delays, then dead-letters; redelivers by id", async () => {
		const created = (
			await asA("/webhooks", {
				method: "POST",
				body: { url: receiver.url("/fail"), eventTypes: ["model.created"] },
			})
		).body as { id: string; secret: string };
		receiver.trust(created.secret);
		await createModel(asA, "refused");
		const dead = await waitFor(
			"the dead letter",
			async () => {
				const page = (await asA(`/webhooks/${created.id}/deliveries?state=dead`)).body as {
					items: Delivery[];
				};
				return page.items[0];
			},
			30_000,
			200,
		);
		// Retry period 8 s, delays from 400 ms doubling (with jitter): at least four attempts.
		expect(dead.attempts).toBeGreaterThanOrEqual(4);
		expect(dead.log.every(a => a.status === 500)).toBe(true);
		const times = dead.log.map(a => new Date(a.at).getTime());
		const gaps = times.slice(1).map((t, i) => t - times[i]);
		for (let i = 1; i < Math.min(gaps.length, 3); i++)
			expect(gaps[i]).toBeGreaterThan(gaps[i - 1]);
		const arrivals = receiver.deliveries.filter(
			d => d.path === "/fail" && d.event.id === dead.eventId,
		);
		expect(arrivals).toHaveLength(dead.attempts);
		// Redelivery by id, to a receiver that now takes it.
		await asA(`/webhooks/${created.id}`, {
			method: "PATCH",
			body: { url: receiver.url("/ok") },
		});
		const again = await asA(`/webhooks/${created.id}/deliveries/${dead.id}/redeliver`, {
			method: "POST",
		});
		expect(again.status).toBe(200);
		await waitFor(
			"the redelivery",
			() => (receiver.deliveredIds("/ok").has(dead.eventId) ? true : undefined),
			10_000,
			25,
		);
		expect(receiver.unverified).toEqual([]);
		const missing = await asA(
			`/webhooks/${created.id}/deliveries/00000000-0000-4000-8000-000000000000/redeliver`,
			{ method: "POST" },
		);
		expect(missing.status).toBe(404);
	});

	it("sends a disabled endpoint nothing, and pages its delivery log", async () => {
		const created = (
			await asA("/webhooks", {
				method: "POST",
				body: { url: receiver.url("/ok"), eventTypes: ["model.updated"], enabled: false },
			})
		).body as { id: string; secret: string };
		receiver.trust(created.secret);
		await createModel(asA, "paged");
		await asA("/models/paged", { method: "PATCH", body: { description: "while disabled" } });
		const page = async (query: string) => {
			const reply = await asA(`/webhooks/${created.id}/deliveries${query}`);
			expect(reply.status).toBe(200);
			return reply.body as { items: Delivery[]; nextCursor: string | null };
		};
		await new Promise(resolve => setTimeout(resolve, 300));
		expect((await page("")).items).toEqual([]);
		await asA(`/webhooks/${created.id}`, { method: "PATCH", body: { enabled: true } });
		for (let i = 0; i < 3; i++)
			await asA("/models/paged", { method: "PATCH", body: { description: `d${i}` } });
		await waitFor(
			"three delivered",
			async () => ((await page("?state=delivered")).items.length === 3 ? true : undefined),
			10_000,
		);
		const first = await page("?limit=2");
		expect(first.items).toHaveLength(2);
		expect(first.nextCursor).not.toBeNull();
		const second = await page(`?limit=2&cursor=${encodeURIComponent(first.nextCursor!)}`);
		expect(second.items).toHaveLength(1);
		expect(second.nextCursor).toBeNull();
		const ids = [...first.items, ...second.items].map(d => d.id);
		expect(new Set(ids).size).toBe(3);
		expect((await asA(`/webhooks/${created.id}/deliveries?cursor=yesterday`)).status).toBe(400);
		const updates = receiver.deliveries.filter(
			d => d.event.data.model === "paged" && d.event.type === "io.modelfleet.model.updated",
		);
		expect(updates).toHaveLength(3);
		expect(receiver.unverified).toEqual([]);
	});
});
