/** The broker settings of moleculer.config.ts, observed on a real broker. */
import { Errors, ServiceBroker, type ServiceSchema } from "moleculer";
import { createBrokerOptions } from "../../moleculer.config";
import { loadNodeConfig, type Environment } from "../../lib/config/node-config";

function broker(env: Environment = {}): ServiceBroker {
	return new ServiceBroker(
		createBrokerOptions(
			loadNodeConfig("worker", { LOG_LEVEL: "error", METRICS_PORT: "off", ...env }),
		),
	);
}

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

describe("broker options", () => {
	it("lets an in-flight call finish before the node stops", async () => {
		const b = broker();
		b.createService({
			name: "slow",
			actions: {
				async run() {
					await sleep(300);
					return "finished";
				},
			},
		});
		await b.start();
		const call = b.call("slow.run");
		await sleep(50);
		const stopped = b.stop().then(() => "stopped");
		const order = await Promise.all([call.then(v => v), stopped]);
		expect(order).toEqual(["finished", "stopped"]);
	});

	it("retries a retryable failure only for actions that declare themselves idempotent", async () => {
		const b = broker({ MODELFLEET_RETRIES: "3" });
		const attempts = { read: 0, create: 0 };
		const flaky = (name: keyof typeof attempts) => () => {
			attempts[name]++;
			if (attempts[name] < 3)
				throw new Errors.MoleculerRetryableError("node busy", 503, "BUSY");
			return name;
		};
		const schema: ServiceSchema = {
			name: "flaky",
			actions: {
				read: { retryPolicy: { enabled: true, delay: 1 }, handler: flaky("read") },
				create: { handler: flaky("create") },
			},
		};
		b.createService(schema);
		await b.start();
		try {
			await expect(b.call("flaky.read")).resolves.toBe("read");
			expect(attempts.read).toBe(3);
			await expect(b.call("flaky.create")).rejects.toMatchObject({ type: "BUSY" });
			expect(attempts.create).toBe(1);
		} finally {
			await b.stop();
		}
	});

	it("times out a call that takes longer than the request timeout", async () => {
		const b = broker({ MODELFLEET_REQUEST_TIMEOUT_MS: "100" });
		b.createService({
			name: "hang",
			actions: {
				async run() {
					await sleep(1000);
				},
			},
		});
		await b.start();
		try {
			await expect(b.call("hang.run")).rejects.toBeInstanceOf(Errors.RequestTimeoutError);
		} finally {
			await b.stop();
		}
	});
});
