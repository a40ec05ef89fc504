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
