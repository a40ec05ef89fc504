import { randomUUID } from "node:crypto";
import { ServiceBroker, type Context } from "moleculer";
import { createBrokerOptions } from "../../moleculer.config";
import { loadNodeConfig } from "../../lib/config/node-config";
import Redis from "ioredis";
import { describeWithServices, serviceUrl } from "../support/external-services";
import { waitFor } from "../support/wait";

async function redisKeys(namespace: string): Promise<number> {
	const client = new Redis(serviceUrl("redis"));
	try {
		return (await client.keys(`MF-${namespace}*`)).length;
	} finally {
		client.disconnect();
	}
}

describeWithServices(["redis"], "REDIS_URL", () => {
	it("gives every node one shared Redis cache", async () => {
		const env = {
			REDIS_URL: serviceUrl("redis"),
			MODELFLEET_NAMESPACE: `cacher-test-${randomUUID().slice(0, 8)}`,
			METRICS_PORT: "off",
			LOG_LEVEL: "error",
		};
		let computed = 0;
		const make = (id: string) => {
			const b = new ServiceBroker(
				createBrokerOptions(loadNodeConfig("gateway", { ...env, MODELFLEET_NODE_ID: id })),
			);
			b.createService({
				name: "costly",
				actions: {
					square: {
						cache: { keys: ["n"] },
						handler(ctx: Context<{ n: number }>) {
							computed++;
							return ctx.params.n * ctx.params.n;
						},
					},
				},
			});
			return b;
		};
		const [a, b] = [make("a"), make("b")];
		await Promise.all([a.start(), b.start()]);
		try {
			expect(a.cacher?.constructor.name).toBe("RedisCacher");
			// Until its connection is up, a cacher lets calls through uncached.
			const connected = (broker: ServiceBroker) =>
				(broker.cacher as { connected?: boolean } | null)?.connected === true;
			await waitFor(
				"both cachers connected",
				() => (connected(a) && connected(b) ? true : undefined),
				5000,
				20,
			);
			expect(await a.call("costly.square", { n: 12 })).toBe(144);
			// The cacher stores the result after answering: wait until Redis has it.
			await waitFor(
				"the cached result in Redis",
				async () => ((await redisKeys(env.MODELFLEET_NAMESPACE)) > 0 ? true : undefined),
				2000,
				20,
			);
			expect(await b.call("costly.square", { n: 12 })).toBe(144);
			expect(computed).toBe(1);
		} finally {
			await a.cacher?.clean();
			await Promise.all([a.stop(), b.stop()]);
		}
	});
});
