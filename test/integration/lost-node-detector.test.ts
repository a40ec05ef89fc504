/**
 * Two brokers over the real NATS server with the fleet's broker options and a heartbeat timeout
 * far longer than the test: when the callee's NATS connection drops without a goodbye (as a
 * process killed -9 does), the caller's pending call is rejected within a fraction of a second,
 * as retryable, and the callee leaves the caller's registry — without waiting for heartbeats.
 * A live node that is merely slow is probed, answers, and keeps its call.
 */
import { randomUUID } from "node:crypto";
import { Errors, ServiceBroker } from "moleculer";
import { createBrokerOptions } from "../../moleculer.config";
import { loadNodeConfig } from "../../lib/config/node-config";
import { describeWithServices, serviceUrl } from "../support/external-services";
import { TEST_FLEET_SECRET } from "../support/fleet-secret";
import { waitFor } from "../support/wait";

describeWithServices(["nats"], "lost node detection over NATS", () => {
	const namespace = `lost-node-${randomUUID().slice(0, 8)}`;
	const env = {
		TRANSPORTER: serviceUrl("nats"),
		MODELFLEET_FLEET_SECRET: TEST_FLEET_SECRET,
		MODELFLEET_NAMESPACE: namespace,
		METRICS_PORT: "off",
		LOG_LEVEL: "error",
		MODELFLEET_HEARTBEAT_INTERVAL_S: "10",
		MODELFLEET_HEARTBEAT_TIMEOUT_S: "60",
	};
	const brokerOf = (nodeID: string) =>
		new ServiceBroker(
			createBrokerOptions(loadNodeConfig("worker", { ...env, MODELFLEET_NODE_ID: nodeID })),
		);
	const caller = brokerOf("caller");
	/** A node that stays, and one whose connection will drop; each serves a slow action. */
	const steady = brokerOf("steady");
	const doomed = brokerOf("doomed");
	/** A node whose probe subscription takes probes and answers none, until its connection drops. */
	const mute = brokerOf("mute");
	for (const [broker, name] of [
		[steady, "steady"],
		[doomed, "doomed"],
		[mute, "mute"],
	] as const) {
		broker.createService({
			name,
			actions: {
				/** Answers after `ms`. */
				wait(ctx) {
					const { ms } = ctx.params as { ms: number };
					return new Promise(resolve => setTimeout(() => resolve("done"), ms));
				},
			},
		});
	}

	interface ProbeSubscription {
		getSubject(): string;
		unsubscribe(): void;
	}
	interface NatsClient {
		close(): Promise<void>;
		subscribe(subject: string, options: { callback: () => void }): ProbeSubscription;
		protocol: { subscriptions: { all(): ProbeSubscription[] } };
	}
	const natsClientOf = (broker: ServiceBroker) =>
		(broker.transit as unknown as { tx: { client: NatsClient } }).tx.client;

	beforeAll(async () => {
		await Promise.all([caller.start(), steady.start(), doomed.start(), mute.start()]);
		await caller.waitForServices(["steady", "doomed", "mute"], 10_000);
		// The mute node's probe subscription stays, silent: a probe is delivered and never answered,
		// as one is that reaches a killed process whose connection the kernel has not closed yet.
		const client = natsClientOf(mute);
		for (const sub of client.protocol.subscriptions.all())
			if (sub.getSubject().includes(".MF-ALIVE.")) {
				sub.unsubscribe();
				client.subscribe(sub.getSubject(), { callback: () => undefined });
			}
	});

	afterAll(async () => {
		await caller.stop();
		await steady.stop();
		// Their connections are gone already: stopping them only ends their timers.
		await doomed.stop().catch(() => undefined);
		await mute.stop().catch(() => undefined);
	});

	it("keeps a slow call to a live node: the probe is answered", async () => {
		await expect(caller.call("steady.wait", { ms: 600 })).resolves.toBe("done");
		expect(caller.registry.nodes.get("steady")?.available).toBe(true);
	});

	it("rejects a call pending on a node whose NATS connection dropped, long before any timeout", async () => {
		const started = Date.now();
		const pending = caller.call("doomed.wait", { ms: 2_000 });
		pending.catch(() => undefined);
		await new Promise(resolve => setTimeout(resolve, 50));
		// Gone without a DISCONNECT packet: its subscriptions vanish from the NATS server.
		const client = (doomed.transit as unknown as { tx: { client: { close(): Promise<void> } } })
			.tx.client;
		await client.close();

		const error = await pending.then(
			() => null,
			(err: unknown) => err,
		);
		expect(error).toBeInstanceOf(Errors.RequestRejectedError);
		expect((error as Errors.MoleculerRetryableError).retryable).toBe(true);
		// The probe takes about 150 ms (100 ms of suspicion, one NATS round trip). Without it the
		// call, whose answer can no longer arrive, would wait for the 30 s request timeout or the
		// 60 s heartbeat; 3 s leaves a loaded 2-core machine room and still tells them apart.
		expect(Date.now() - started).toBeLessThan(3000);
		await waitFor(
			"the dropped node gone from the caller's registry",
			() => (caller.registry.nodes.get("doomed")?.available === false ? true : undefined),
			1000,
		);
	});

	it("probes again when a probe goes unanswered, so a node that dies under a probe costs its calls well under 1 s", async () => {
		const started = Date.now();
		const pending = caller.call("mute.wait", { ms: 5_000 });
		pending.catch(() => undefined);
		// The first probe goes out at about 100 ms and is taken, unanswered; then the node dies.
		await new Promise(resolve => setTimeout(resolve, 150));
		await natsClientOf(mute).close();

		const error = await pending.then(
			() => null,
			(err: unknown) => err,
		);
		expect(error).toBeInstanceOf(Errors.RequestRejectedError);
		// The unanswered probe times out (250 ms) and the next one hears "no responders": about
		// 400 ms. With a 1 s probe timeout the call waited past 1.1 s (a failover's slowest request
		// in CI took 1.27 s that way).
		expect(Date.now() - started).toBeLessThan(1000);
	});
});
