import { ServiceBroker, type Context, type Service } from "moleculer";
import { EVENTS, type NodeForgottenEvent } from "../../../lib/events";
import { domainEventsMixin, type DomainEventMethods } from "../../../mixins/domain-events.mixin";

type Emitter = Service & DomainEventMethods;

describe("domainEventsMixin", () => {
	let broker: ServiceBroker;
	let emitter: Emitter;
	const seen: NodeForgottenEvent[] = [];

	beforeEach(async () => {
		seen.length = 0;
		broker = new ServiceBroker({ logger: false });
		emitter = broker.createService({
			name: "emitter",
			mixins: [domainEventsMixin()],
		}) as Emitter;
		broker.createService({
			name: "listener",
			events: {
				[EVENTS.nodeForgotten](ctx: Context<NodeForgottenEvent>) {
					seen.push(ctx.params);
				},
			},
		});
		await broker.start();
	});

	afterEach(() => broker.stop());

	it("emits and broadcasts typed payloads", async () => {
		await emitter.emitEvent(EVENTS.nodeForgotten, { nodeID: "n1", reason: "operator" });
		await emitter.broadcastEvent(EVENTS.nodeForgotten, { nodeID: "n2", reason: "timeout" });
		expect(seen).toEqual([
			{ nodeID: "n1", reason: "operator" },
			{ nodeID: "n2", reason: "timeout" },
		]);
	});

	it("emits from a context, and logs a failed emit once instead of throwing", async () => {
		const warn = jest.spyOn(emitter.logger, "warn").mockImplementation(() => undefined);
		const ctx = {
			emit: jest.fn(() => Promise.reject(new Error("transporter down"))),
		} as unknown as Context;
		await expect(
			emitter.emitEvent(EVENTS.nodeForgotten, { nodeID: "n1", reason: "operator" }, ctx),
		).resolves.toBeUndefined();
		expect(ctx.emit).toHaveBeenCalledWith(EVENTS.nodeForgotten, {
			nodeID: "n1",
			reason: "operator",
		});
		expect(warn).toHaveBeenCalledTimes(1);
		expect(String(warn.mock.calls[0][0])).toContain(EVENTS.nodeForgotten);

		jest.spyOn(broker, "broadcast").mockRejectedValueOnce(new Error("down"));
		await expect(
			emitter.broadcastEvent(EVENTS.nodeForgotten, { nodeID: "n1", reason: "operator" }),
		).resolves.toBeUndefined();
		expect(warn).toHaveBeenCalledTimes(2);
	});
});

describe("domainEventsMixin's durable events", () => {
	const TENANT = "0b6f8a5e-4a52-4c7b-9a53-2f3c2a1d9e11";
	const model = (name: string) => ({ tenant: TENANT, keyId: null, model: name, modelId: "id" });
	let broker: ServiceBroker;

	afterEach(() => broker.stop());

	it("publishes each durable event to its channel, in the order emitted, with its id as message id", async () => {
		broker = new ServiceBroker({ logger: false, nodeID: "n1", namespace: "ns" });
		const sent: Array<{ channel: string; id: string; msgID: string; type: string }> = [];
		let calls = 0;
		Object.assign(broker, {
			sendToChannel: async (
				channel: string,
				event: { id: string; type: string },
				opts: { msgID: string },
			) => {
				// The first publish fails once (a lost ack): it is retried, and order is kept.
				if (calls++ === 0) throw new Error("no ack");
				await new Promise(resolve => setTimeout(resolve, 5));
				sent.push({ channel, id: event.id, msgID: opts.msgID, type: event.type });
			},
		});
		const emitter = broker.createService({
			name: "emitter",
			mixins: [domainEventsMixin()],
		}) as Emitter;
		await broker.start();
		void emitter.emitEvent(EVENTS.modelCreated, model("a"));
		void emitter.emitEvent(EVENTS.nodeForgotten, { nodeID: "x", reason: "operator" });
		await emitter.emitEvent(EVENTS.modelUpdated, model("a"));
		await new Promise(resolve => setTimeout(resolve, 600));
		expect(sent.map(s => [s.channel, s.type])).toEqual([
			[`_events.${TENANT}.model.created`, "io.modelfleet.model.created"],
			[`_events.${TENANT}.model.updated`, "io.modelfleet.model.updated"],
		]);
		expect(sent.every(s => s.msgID === s.id)).toBe(true);
	});

	it("hands them to the local events service on a node without NATS", async () => {
		broker = new ServiceBroker({ logger: false });
		const recorded: Array<{ type: string; source: string }> = [];
		broker.createService({
			name: "events",
			actions: {
				record: (ctx: Context<{ type: string; source: string }>) =>
					recorded.push(ctx.params),
			},
		});
		const emitter = broker.createService({
			name: "emitter",
			mixins: [domainEventsMixin()],
		}) as Emitter;
		await broker.start();
		await emitter.emitEvent(EVENTS.modelDeleted, model("gone"));
		await new Promise(resolve => setTimeout(resolve, 50));
		expect(recorded).toMatchObject([{ type: "io.modelfleet.model.deleted" }]);
		expect(recorded[0].source).toBe(`/modelfleet/default/${broker.nodeID}`);
	});

	it("writes counted predictions as one summary per model version and interval", async () => {
		broker = new ServiceBroker({ logger: false });
		const summaries: unknown[] = [];
		broker.createService({
			name: "listener",
			events: {
				[EVENTS.predictionSummary]: (ctx: Context) => void summaries.push(ctx.params),
			},
		});
		const emitter = broker.createService({
			name: "emitter",
			mixins: [domainEventsMixin({ predictionSummaryMs: 100 })],
		}) as Emitter;
		await broker.start();
		for (let i = 0; i < 50; i++) emitter.countPrediction(TENANT, "m", "1.0.0", null);
		emitter.countPrediction(TENANT, "m", "1.0.0", "DEADLINE_EXCEEDED");
		await new Promise(resolve => setTimeout(resolve, 400));
		expect(summaries).toEqual([
			expect.objectContaining({
				tenant: TENANT,
				model: "m",
				version: "1.0.0",
				requests: 51,
				completed: 50,
				failed: 1,
			}),
		]);
	});
});
