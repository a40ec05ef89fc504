/**
 * Durable domain events on a fleet of real processes — a gateway, a control node and two
 * workers over the real NATS server with JetStream: events published by the control node
 * (registry) and the workers (prediction summaries) are read back in order through the events
 * API and the SSE stream, per tenant; webhooks are delivered from the fleet's JetStream
 * consumer; and with 100 deliveries pending in the outbox, some of them mid-attempt, the control
 * node is killed with SIGKILL and started again: every event reaches the receiver, each
 * verified, none missing.
 */
import { randomUUID } from "node:crypto";
import { connect, nanos } from "nats";
import { eventStreamNames } from "../../lib/domain-events/jetstream-event-log";
import { createPostgresDatabase } from "../support/databases";
import { describeWithServices, serviceUrl } from "../support/external-services";
import { waitForWorkers, publishModel } from "../support/fleet-api";
import { FAST_LOOPS, FleetProcesses } from "../support/fleet-processes";
import { readSse } from "../support/sse-reader";
import { apiClient, type TestReply, type TestRequestInit } from "../support/test-node";
import { waitFor } from "../support/wait";
import { WebhookReceiver } from "../support/webhook-receiver";
import { writeMlpModel } from "../unit/onnx/example-models";

const OWNER_KEY = `mf_events-fleet-${randomUUID()}`;

interface LoggedEvent {
	cursor: string;
	event: {
		id: string;
		type: string;
		tenant: string;
		source: string;
		data: { model?: string; completed?: number; requests?: number };
	};
}
interface EventPage {
	items: LoggedEvent[];
	nextCursor: string;
}

describeWithServices(["nats", "postgres"], "durable events on a fleet", () => {
	const cluster = new FleetProcesses("events-fleet", {
		...FAST_LOOPS,
		MODELFLEET_PREDICTION_EVENTS_INTERVAL_S: "0.5",
		MODELFLEET_EVENTS_RETENTION_S: "3600",
		MODELFLEET_EVENTS_STREAM_POLL_MS: "100",
		MODELFLEET_WEBHOOK_ALLOW_PRIVATE: "true",
		MODELFLEET_WEBHOOK_RETRY_BASE_MS: "200",
		MODELFLEET_WEBHOOK_RETRY_MAX_MS: "1000",
		MODELFLEET_WEBHOOK_POLL_MS: "50",
		MODELFLEET_WEBHOOK_TIMEOUT_MS: "2000",
	});
	let database: { url: string; drop(): Promise<void> };
	let receiver: WebhookReceiver;
	let api: string;
	let owner: (path: string, init?: TestRequestInit) => Promise<TestReply>;
	let tenant: string;

	const list = async (query: string): Promise<EventPage> => {
		const reply = await owner(`/events${query}`);
		if (reply.status !== 200) throw new Error(`GET /events${query}: ${reply.status}`);
		return reply.body as EventPage;
	};
	/** Every event after `after` (all pages). */
	const allAfter = async (after: string, type?: string): Promise<LoggedEvent[]> => {
		const items: LoggedEvent[] = [];
		let cursor = after;
		for (;;) {
			const page = await list(`?after=${cursor}&limit=500${type ? `&type=${type}` : ""}`);
			items.push(...page.items);
			if (page.items.length === 0) return items;
			cursor = page.nextCursor;
		}
	};

	beforeAll(async () => {
		database = await createPostgresDatabase();
		receiver = await WebhookReceiver.start();
		const base = await cluster.startBasicFleet({
			ownerKey: OWNER_KEY,
			databaseUrl: database.url,
			workers: ["worker-1", "worker-2"],
		});
		api = `${base}/api/v1`;
		owner = apiClient(api, OWNER_KEY);
		await waitForWorkers(api, OWNER_KEY, ["worker-1", "worker-2"]).catch(cluster.failWithLogs);
		await waitFor(
			"the events API",
			async () => ((await owner("/events")).status === 200 ? true : undefined),
			30_000,
		).catch(cluster.failWithLogs);
		tenant = ((await owner("/tenant")).body as { id: string }).id;
	}, 120_000);

	afterAll(async () => {
		await cluster.killAll();
		await receiver?.stop();
		await database?.drop();
	});

	it("reads the fleet's events back in order through the API and the SSE stream", async () => {
		const start = (await list("?after=now")).nextCursor;
		const sse = await fetch(`${api}/events/stream?after=${start}`, {
			headers: { authorization: `Bearer ${OWNER_KEY}` },
		});
		expect(sse.status).toBe(200);
		await publishModel(api, OWNER_KEY, "fleet-mlp", writeMlpModel());
		for (let i = 0; i < 5; i++) {
			const predicted = await owner("/models/fleet-mlp/predict", {
				method: "POST",
				body: {
					inputs: [{ name: "x", datatype: "FP32", shape: [1, 4], data: [1, 2, 3, 4] }],
				},
			});
			expect(predicted.status).toBe(200);
		}
		// The workers' summaries of those predictions, from JetStream.
		const events = await waitFor(
			"the prediction summaries",
			async () => {
				const all = await allAfter(start);
				const summarised = all
					.filter(e => e.event.type === "io.modelfleet.prediction.summary")
					.reduce((n, e) => n + (e.event.data.completed ?? 0), 0);
				return summarised >= 5 ? all : undefined;
			},
			30_000,
			250,
		).catch(cluster.failWithLogs);
		const types = events.map(e => e.event.type);
		expect(types.slice(0, 2)).toEqual([
			"io.modelfleet.model.created",
			"io.modelfleet.version.created",
		]);
		expect(types.indexOf("io.modelfleet.prediction.summary")).toBeGreaterThan(1);
		// Published by the control node and by the workers.
		const sources = new Set(events.map(e => e.event.source.split("/").pop()));
		expect(sources.has("control")).toBe(true);
		expect([...sources].some(s => s?.startsWith("worker-"))).toBe(true);
		expect(events.every(e => e.event.tenant === tenant)).toBe(true);
		const cursors = events.map(e => Number(e.cursor));
		expect([...cursors].sort((a, b) => a - b)).toEqual(cursors);
		// The stream gave the same events, in the same order, with the same cursors.
		const frames = await readSse(sse, events.length, 20_000);
		expect(frames.map(f => [f.id, f.data.id])).toEqual(events.map(e => [e.cursor, e.event.id]));
		// And resumes after any of them.
		const resumed = await fetch(`${api}/events/stream`, {
			headers: { authorization: `Bearer ${OWNER_KEY}`, "last-event-id": events[0].cursor },
		});
		const rest = await readSse(resumed, events.length - 1, 20_000);
		expect(rest.map(f => f.data.id)).toEqual(events.slice(1).map(e => e.event.id));
	}, 90_000);

	it("keeps them in the fleet's own JetStream stream for the retention period", async () => {
		const nc = await connect({ servers: new URL(serviceUrl("nats")).host });
		try {
			const jsm = await nc.jetstreamManager();
			const info = await jsm.streams.info(eventStreamNames(cluster.namespace).stream);
			expect(info.config.max_age).toBe(nanos(3600 * 1000));
			expect(info.config.subjects).toEqual([
				`${eventStreamNames(cluster.namespace).subjectPrefix}.>`,
			]);
			expect(info.state.messages).toBeGreaterThan(0);
		} finally {
			await nc.close();
		}
	});

	it("keeps tenants apart: another tenant sees none of these events nor webhooks", async () => {
		const created = await owner("/tenants", { method: "POST", body: { name: "fleet-other" } });
		expect(created.status).toBe(201);
		const other = apiClient(api, (created.body as { ownerKey: { key: string } }).ownerKey.key);
		const hook = await owner("/webhooks", {
			method: "POST",
			body: { url: receiver.url("/ok"), eventTypes: ["model.deleted"] },
		});
		expect(hook.status).toBe(201);
		expect(((await other("/events")).body as EventPage).items).toEqual([]);
		expect((await other("/webhooks")).body).toEqual([]);
		const id = (hook.body as { id: string }).id;
		expect((await other(`/webhooks/${id}`)).status).toBe(404);
		await owner(`/webhooks/${id}`, { method: "DELETE" });
	});

	it("delivers 100 pending webhooks after the control node is killed with SIGKILL and restarted", async () => {
		const hook = (
			await owner("/webhooks", {
				method: "POST",
				body: { url: receiver.url("/gated"), eventTypes: ["model.created"] },
			})
		).body as { id: string; secret: string };
		receiver.trust(hook.secret);
		const start = (await list("?after=now")).nextCursor;
		for (let i = 0; i < 100; i++) {
			const created = await owner("/models", {
				method: "POST",
				body: { name: `burst-${i}`, task: "classification", framework: "onnx" },
			});
			expect(created.status).toBe(201);
		}
		// All 100 in the outbox, none delivered, some mid-attempt: the receiver holds them.
		await waitFor(
			"100 pending deliveries, some of them in flight",
			async () => {
				const page = (
					await owner(`/webhooks/${hook.id}/deliveries?state=pending&limit=500`)
				).body as { items: unknown[] };
				return page.items.length === 100 && receiver.held > 0 ? true : undefined;
			},
			30_000,
			250,
		).catch(cluster.failWithLogs);
		const control = cluster.get("control");
		control.kill("SIGKILL");
		await control.exited;
		receiver.open();
		cluster.start("control", "control", {
			DATABASE_URL: database.url,
			MODELFLEET_BOOTSTRAP_KEY: OWNER_KEY,
		});
		const ids = (
			await waitFor(
				"the events API after the restart",
				async () => {
					const events = await allAfter(start, "model.created");
					return events.length === 100 ? events : undefined;
				},
				60_000,
				500,
			).catch(cluster.failWithLogs)
		).map(e => e.event.id);
		await waitFor(
			"every event delivered",
			() => {
				const delivered = receiver.deliveredIds("/gated");
				return ids.every(id => delivered.has(id)) ? true : undefined;
			},
			60_000,
			250,
		).catch(err => {
			const delivered = receiver.deliveredIds("/gated");
			throw new Error(
				`${(err as Error).message}: ${ids.filter(id => !delivered.has(id)).length} of 100 missing\n${cluster.logs()}`,
			);
		});
		expect(receiver.unverified).toEqual([]);
		// Nothing it did not ask for: every id it verified is one of the events.
		const known = new Set(ids);
		expect([...receiver.deliveredIds("/gated")].filter(id => !known.has(id))).toEqual([]);
	}, 180_000);
});
