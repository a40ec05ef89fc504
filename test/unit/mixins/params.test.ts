import { ServiceBroker } from "moleculer";
import { MODEL_PARAM, PAGE_PARAMS, VERSION_REF_PARAMS } from "../../../mixins/params";

describe("shared parameter rules", () => {
	const broker = new ServiceBroker({ logger: false });
	broker.createService({
		name: "lists",
		actions: {
			page: { params: { ...MODEL_PARAM, ...PAGE_PARAMS }, handler: ctx => ctx.params },
			ref: { params: VERSION_REF_PARAMS, handler: ctx => ctx.params },
		},
	});
	beforeAll(() => broker.start());
	afterAll(() => broker.stop());

	it("defaults the page size to 50 and converts a query string's limit", async () => {
		await expect(broker.call("lists.page", { model: "m" })).resolves.toEqual({
			model: "m",
			limit: 50,
		});
		await expect(
			broker.call("lists.page", { model: "m", limit: "20", cursor: "c" }),
		).resolves.toEqual({
			model: "m",
			limit: 20,
			cursor: "c",
		});
	});

	it("refuses an empty model, a page over 500 and an over-long version", async () => {
		await expect(broker.call("lists.page", { model: "" })).rejects.toMatchObject({ code: 422 });
		await expect(broker.call("lists.page", { model: "m", limit: 501 })).rejects.toMatchObject({
			code: 422,
		});
		await expect(
			broker.call("lists.ref", { model: "m", version: "v".repeat(129) }),
		).rejects.toMatchObject({ code: 422 });
	});
});
