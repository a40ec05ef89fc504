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
	for (const [broker, name] of [
		[steady, "steady"],
		[doomed, "doomed"],
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

	beforeAll(async () => {
		await Promise.all([caller.start(), steady.start(), doomed.start()]);
		await caller.waitForServices(["steady", "doomed"], 10_000);
	});

	afterAll(async () => {
		await caller.stop();
		await steady.stop();
		// Its connection is gone already: stopping it only ends its timers.
		await doomed.stop().catch(() => undefined);
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
});
