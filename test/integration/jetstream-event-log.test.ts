/**
 * The event log of a fleet on the real NATS server with JetStream: a tenant's events read back
 * through filtered consumers, oldest first and newest first, page by page, each once and in
 * order, with other tenants' events all around them — many, so newest-first reading has to
 * widen its window over thousands of other messages.
 */
import { randomUUID } from "node:crypto";
import { connect, type NatsConnection } from "nats";
import type { CloudEvent } from "../../lib/domain-events/cloud-event";
import {
	JetStreamEventLog,
	ensureEventStream,
	eventChannel,
	eventStreamConfig,
	eventStreamNames,
} from "../../lib/domain-events/jetstream-event-log";
import { everyEventPage } from "../support/event-pages";
import { describeWithServices, serviceUrl } from "../support/external-services";

describeWithServices(["nats"], "JetStream event log", () => {
	const names = eventStreamNames(`event-log-test-${randomUUID().slice(0, 8)}`);
	const busy = randomUUID();
	const sparse = randomUUID();
	const other = randomUUID();
	const written = new Map<string, string[]>([
		[busy, []],
		[sparse, []],
	]);
	let nc: NatsConnection;
	let log: JetStreamEventLog;

	const publish = async (tenant: string, type: string) => {
		const event: CloudEvent = {
			specversion: "1.0",
			id: randomUUID(),
			source: "/modelfleet/test/n",
			type: `io.modelfleet.${type}`,
			time: new Date().toISOString(),
			subject: "models/m",
			tenant,
			datacontenttype: "application/json",
			data: {},
		};
		await nc
			.jetstream()
			.publish(`${names.channelPrefix}.${eventChannel(event)}`, JSON.stringify(event), {
				msgID: event.id,
			});
		written.get(tenant)?.push(event.id);
	};

	beforeAll(async () => {
		nc = await connect({ servers: serviceUrl("nats") });
		await ensureEventStream(await nc.jetstreamManager(), eventStreamConfig(names, 600));
		log = new JetStreamEventLog(() => nc, names);
		// `sparse` has 5 events among the first 3000; `busy` 30, each beside 20 of `other`'s.
		for (let i = 0; i < 3000; i++) {
			await publish(i % 600 === 0 ? sparse : other, "prediction.summary");
		}
		for (let i = 0; i < 30; i++) {
			await publish(busy, i % 4 === 0 ? "training.started" : "model.created");
			for (let j = 0; j < 20; j++) await publish(other, "model.created");
		}
	}, 60_000);

	afterAll(async () => {
		await (await nc?.jetstreamManager())?.streams.delete(names.stream).catch(() => undefined);
		await nc?.close();
	});

	const ids = (pages: Array<Array<{ event: CloudEvent }>>) =>
		pages.flat().map(item => item.event.id);

	it("pages a tenant's events oldest first and newest first, each once, in order", async () => {
		const mine = written.get(busy)!;
		const oldest = await everyEventPage(log, busy, { order: "asc", limit: 7 });
		expect(oldest.map(page => page.length)).toEqual([7, 7, 7, 7, 2]);
		expect(ids(oldest)).toEqual(mine);
		const newest = await everyEventPage(log, busy, { order: "desc", limit: 7 });
		expect(newest.map(page => page.length)).toEqual([7, 7, 7, 7, 2]);
		expect(ids(newest)).toEqual([...mine].reverse());
		expect(newest.flat().every(item => item.event.tenant === busy)).toBe(true);
	}, 30_000);

	it("pages newest first by type, and a tenant whose few events lie far back", async () => {
		const started = await everyEventPage(log, busy, {
			order: "desc",
			limit: 3,
			type: "training.*",
		});
		expect(ids(started)).toEqual(
			written
				.get(busy)!
				.filter((_, i) => i % 4 === 0)
				.reverse(),
		);
		const far = await everyEventPage(log, sparse, { order: "desc", limit: 2 });
		expect(far.map(page => page.length)).toEqual([2, 2, 1]);
		expect(ids(far)).toEqual([...written.get(sparse)!].reverse());
		// A tenant without events, and a position before the first: nothing.
		expect(await log.list(randomUUID(), { after: 0, order: "desc", limit: 5 })).toEqual({
			items: [],
			nextCursor: "0",
		});
		expect(await log.list(busy, { after: 1, order: "desc", limit: 5 })).toEqual({
			items: [],
			nextCursor: "1",
		});
	}, 30_000);

	it("leaves no consumer behind", async () => {
		const jsm = await nc.jetstreamManager();
		expect((await jsm.streams.info(names.stream)).state.consumer_count).toBe(0);
	});
});
