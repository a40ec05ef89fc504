/**
 * Two brokers over the real NATS server with the fleet's broker options, direct links on (the
 * default): after the first call opens the link, calls and their answers travel over it, not
 * through the NATS server; a stream stays on NATS; a call waiting on a link that breaks is
 * rejected at once as retryable; with MODELFLEET_DIRECT_LINKS=off everything goes over NATS.
 */
import { randomUUID } from "node:crypto";
import { Readable } from "node:stream";
import { Errors, ServiceBroker } from "moleculer";
import { createBrokerOptions } from "../../moleculer.config";
import { loadNodeConfig } from "../../lib/config/node-config";
import type { ChunkedNatsTransporter } from "../../lib/fleet/chunked-nats-transporter";
import { DIRECT_LINK_METADATA_KEY } from "../../lib/fleet/direct-links";
import { describeWithServices, serviceUrl } from "../support/external-services";
import { TEST_FLEET_SECRET } from "../support/fleet-secret";
import { waitFor } from "../support/wait";

describeWithServices(["nats"], "direct links between two brokers", () => {
	const namespace = `links-${randomUUID().slice(0, 8)}`;
	const env = {
		TRANSPORTER: serviceUrl("nats"),
		MODELFLEET_FLEET_SECRET: TEST_FLEET_SECRET,
		MODELFLEET_NAMESPACE: namespace,
		MODELFLEET_DIRECT_LINK_ADVERTISE: "127.0.0.1",
		METRICS_PORT: "off",
		LOG_LEVEL: "error",
		MODELFLEET_HEARTBEAT_INTERVAL_S: "10",
		MODELFLEET_HEARTBEAT_TIMEOUT_S: "60",
	};
	const brokerOf = (nodeID: string, extra: Record<string, string> = {}) =>
		new ServiceBroker(
			createBrokerOptions(
				loadNodeConfig("worker", { ...env, MODELFLEET_NODE_ID: nodeID, ...extra }),
			),
		);
	const caller = brokerOf("caller");
	const callee = brokerOf("callee");
	/** Links off: talks to the others over NATS only. */
	const plain = brokerOf("plain", { MODELFLEET_DIRECT_LINKS: "off" });
	callee.createService({
		name: "echo",
		actions: {
			/** Answers its params, after `ms` when given. */
			say(ctx) {
				const { ms } = ctx.params as { ms?: number };
				return new Promise(resolve => setTimeout(() => resolve(ctx.params), ms ?? 0));
			},
			/** Reads a stream and answers its length. */
			async count(ctx) {
				let bytes = 0;
				for await (const chunk of ctx.stream as unknown as AsyncIterable<Buffer>)
					bytes += chunk.length;
				return bytes;
			},
		},
	});
	const transporterOf = (broker: ServiceBroker) =>
		(broker.transit as unknown as { tx: ChunkedNatsTransporter }).tx;
	const sentOverLinks = (broker: ServiceBroker) =>
		transporterOf(broker).directLinkStats()?.packetsSent ?? 0;

	beforeAll(async () => {
		await Promise.all([caller.start(), callee.start(), plain.start()]);
		await caller.waitForServices(["echo"], 10_000);
		await plain.waitForServices(["echo"], 10_000);
	});

	afterAll(async () => {
		await Promise.all([caller.stop(), callee.stop(), plain.stop()]);
	});

	it("advertises each node's endpoint in its metadata, and none where links are off", () => {
		const endpoint = caller.registry.nodes.get("callee")?.metadata?.[DIRECT_LINK_METADATA_KEY];
		expect(endpoint).toMatchObject({ host: "127.0.0.1", port: expect.any(Number) });
		expect(
			caller.registry.nodes.get("plain")?.metadata?.[DIRECT_LINK_METADATA_KEY],
		).toBeUndefined();
		expect(transporterOf(plain).directLinkStats()).toBeNull();
	});

	it("carries calls and answers over the link once the first call opened it", async () => {
		await caller.call("echo.say", { n: 0 });
		await waitFor(
			"the link to open",
			() => (transporterOf(caller).directLinkStats()?.open === 1 ? true : undefined),
			3000,
			10,
		);
		const before = {
			caller: transporterOf(caller).directLinkStats(),
			callee: transporterOf(callee).directLinkStats(),
		};
		const big = new Float32Array(400_000).map((_, i) => i / 3); // 1.6 MB: over NATS' default limit
		const answers = await Promise.all([
			caller.call("echo.say", { n: 1 }),
			caller.call("echo.say", { n: 2, big }),
		]);
		expect(answers[0]).toEqual({ n: 1 });
		expect((answers[1] as { big: Float32Array }).big).toEqual(big);
		const after = {
			caller: transporterOf(caller).directLinkStats(),
			callee: transporterOf(callee).directLinkStats(),
		};
		expect((after.caller?.packetsSent ?? 0) - (before.caller?.packetsSent ?? 0)).toBe(2);
		expect((after.callee?.packetsSent ?? 0) - (before.callee?.packetsSent ?? 0)).toBe(2);
		expect(
			(after.callee?.bytesReceived ?? 0) - (before.callee?.bytesReceived ?? 0),
		).toBeGreaterThan(1_600_000);
	});

	it("keeps a stream on NATS", async () => {
		await caller.call("echo.say", {});
		const before = sentOverLinks(caller);
		const stream = Readable.from([Buffer.alloc(1000), Buffer.alloc(2000)]);
		await expect(caller.call("echo.count", {}, { stream })).resolves.toBe(3000);
		expect(sentOverLinks(caller)).toBe(before);
	});

	it("sends nothing over links from a node where they are off", async () => {
		await expect(plain.call("echo.say", { n: 3 })).resolves.toEqual({ n: 3 });
		expect(transporterOf(callee).directLinkStats()?.open).toBe(1);
	});

	it("rejects a call waiting on a link that breaks at once, as retryable, though its node lives", async () => {
		await caller.call("echo.say", {});
		const before = sentOverLinks(caller);
		const started = Date.now();
		const pending = caller.call("echo.say", { ms: 10_000 });
		pending.catch(() => undefined);
		expect(sentOverLinks(caller)).toBe(before + 1);
		await new Promise(resolve => setTimeout(resolve, 50));
		// Break the link under the call: the callee's end of it goes away.
		const links = (
			transporterOf(callee) as unknown as { links: { linkTo(p: string): { close(): void } } }
		).links;
		links.linkTo("caller").close();
		const error = await pending.then(
			() => null,
			(err: unknown) => err,
		);
		expect(error).toBeInstanceOf(Errors.RequestRejectedError);
		expect((error as Errors.MoleculerRetryableError).retryable).toBe(true);
		expect(Date.now() - started).toBeLessThan(2000);
		// The next call opens a new link, or goes over NATS meanwhile: it is answered either way.
		await expect(caller.call("echo.say", { n: 4 })).resolves.toEqual({ n: 4 });
	});
});
