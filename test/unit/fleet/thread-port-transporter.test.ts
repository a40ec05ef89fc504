import { MessageChannel } from "node:worker_threads";
import { ServiceBroker } from "moleculer";
import { GuardedCborSerializer } from "../../../lib/fleet/guarded-serializer";
import { ThreadPortTransporter } from "../../../lib/fleet/thread-port-transporter";

/** Brokers joined as an all-in-one node and its serving threads are (one hub, the rest spokes). */
function hubAndSpokes(spokes: number): { hub: ServiceBroker; spokes: ServiceBroker[] } {
	const channels = Array.from({ length: spokes }, () => new MessageChannel());
	const options = (nodeID: string, transporter: ThreadPortTransporter) =>
		// CBOR, as every node uses (moleculer.config.ts): buffers cross as buffers.
		new ServiceBroker({
			nodeID,
			namespace: "ports",
			logger: false,
			transporter,
			serializer: new GuardedCborSerializer(64),
		});
	return {
		hub: options(
			"main",
			new ThreadPortTransporter({ ports: channels.map(c => c.port1), hub: true }),
		),
		spokes: channels.map((channel, i) =>
			options(
				`serving-${i + 1}`,
				new ThreadPortTransporter({ ports: [channel.port2], hub: false }),
			),
		),
	};
}

describe("ThreadPortTransporter", () => {
	let brokers: ServiceBroker[] = [];
	afterEach(async () => {
		await Promise.all(brokers.map(b => b.stop()));
		brokers = [];
	});

	it("carry calls and their answers between the hub and a spoke, both ways", async () => {
		const { hub, spokes } = hubAndSpokes(1);
		brokers = [hub, ...spokes];
		hub.createService({ name: "control", actions: { who: () => "main" } });
		spokes[0].createService({
			name: "serving",
			actions: { echo: ctx => ({ got: ctx.params, from: "serving-1" }) },
		});
		await Promise.all(brokers.map(b => b.start()));
		await Promise.all([
			hub.waitForServices(["serving"], 5000),
			spokes[0].waitForServices(["control"], 5000),
		]);
		await expect(hub.call("serving.echo", { bytes: Buffer.from([1, 2, 3]) })).resolves.toEqual({
			got: { bytes: Buffer.from([1, 2, 3]) },
			from: "serving-1",
		});
		await expect(spokes[0].call("control.who")).resolves.toBe("main");
	});

	it("pass what one spoke sends on to another through the hub, and only to the node it names", async () => {
		const { hub, spokes } = hubAndSpokes(2);
		brokers = [hub, ...spokes];
		const seen: string[] = [];
		for (const [i, spoke] of spokes.entries()) {
			spoke.createService({
				name: `s${i + 1}`,
				actions: { hello: () => `s${i + 1}` },
				events: { "thing.happened": () => void seen.push(`s${i + 1}`) },
			});
		}
		hub.createService({
			name: "main",
			events: { "thing.happened": () => void seen.push("main") },
		});
		await Promise.all(brokers.map(b => b.start()));
		await spokes[0].waitForServices(["s2", "main"], 5000);
		await expect(spokes[0].call("s2.hello")).resolves.toBe("s2");
		await expect(spokes[1].call("s1.hello")).resolves.toBe("s1");
		spokes[0].broadcast("thing.happened");
		await new Promise(resolve => setTimeout(resolve, 100));
		expect(seen.sort()).toEqual(["main", "s1", "s2"]);
	});

	it("send nothing to a spoke once its port is removed", async () => {
		const channel = new MessageChannel();
		const transporter = new ThreadPortTransporter({ ports: [channel.port1], hub: true });
		const hub = new ServiceBroker({
			nodeID: "main",
			namespace: "ports",
			logger: false,
			transporter,
		});
		brokers = [hub];
		const received: unknown[] = [];
		channel.port2.on("message", message => received.push(message));
		await hub.start();
		await new Promise(resolve => setTimeout(resolve, 50));
		expect(received.length).toBeGreaterThan(0);
		transporter.removePort(channel.port1);
		received.length = 0;
		hub.broadcast("anything");
		await new Promise(resolve => setTimeout(resolve, 50));
		expect(received).toEqual([]);
		channel.port2.close();
	});
});
