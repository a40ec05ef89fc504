import { ServiceBroker, type Context } from "moleculer";
import { NullAbsentValidator } from "../../../lib/validation/null-absent-validator";

describe("NullAbsentValidator", () => {
	const broker = new ServiceBroker({ logger: false, validator: new NullAbsentValidator() });
	const heard: unknown[] = [];
	const deploymentParams = {
		model: "string",
		replicas: "number|optional",
		shadow: { type: "string", optional: true, nullable: true },
		limit: { type: "number", optional: true, default: 50 },
		resources: {
			type: "object",
			optional: true,
			props: { cpu: { type: "number", optional: true }, gpus: "number|optional" },
		},
		traffic: {
			type: "array",
			optional: true,
			items: {
				type: "object",
				props: { version: "string", weight: { type: "number", optional: true } },
			},
		},
	};
	broker.createService({
		name: "echo",
		actions: {
			deploy: { params: deploymentParams, handler: (ctx: Context) => ctx.params },
			root: {
				params: {
					$$root: true,
					type: "object",
					props: { id: { type: "string", optional: true } },
				},
				handler: (ctx: Context) => ctx.params,
			},
			slow: {
				params: {
					$$async: true,
					name: {
						type: "string",
						optional: true,
						custom: async (value: unknown) => value,
					},
					note: { type: "string", optional: true },
				},
				handler: (ctx: Context) => ctx.params,
			},
		},
		events: {
			"echo.heard": {
				params: { text: { type: "string", optional: true } },
				handler: (ctx: Context) => {
					heard.push(ctx.params);
				},
			},
		},
	});
	beforeAll(() => broker.start());
	afterAll(() => broker.stop());

	it("hands the handler an optional field sent as null as if it were left out", async () => {
		const withNulls = await broker.call("echo.deploy", {
			model: "m",
			replicas: null,
			resources: { cpu: null, gpus: null },
			traffic: [{ version: "1", weight: null }],
		});
		expect(withNulls).toEqual({
			model: "m",
			limit: 50,
			resources: {},
			traffic: [{ version: "1" }],
		});
		expect(Object.keys(withNulls as object)).not.toContain("replicas");
		expect(await broker.call("echo.deploy", { model: "m", resources: null })).toEqual(
			await broker.call("echo.deploy", { model: "m" }),
		);
	});

	it("keeps null for a nullable field and gives a defaulted one its default", async () => {
		await expect(
			broker.call("echo.deploy", { model: "m", shadow: null, limit: null }),
		).resolves.toEqual({ model: "m", shadow: null, limit: 50 });
	});

	it("still refuses null for a required field, at the top and nested", async () => {
		await expect(broker.call("echo.deploy", { model: null })).rejects.toMatchObject({
			code: 422,
			type: "VALIDATION_ERROR",
			data: [expect.objectContaining({ field: "model", type: "required" })],
		});
		await expect(
			broker.call("echo.deploy", { model: "m", traffic: [{ version: null }] }),
		).rejects.toMatchObject({ code: 422 });
	});

	it("covers $$root schemas, async checks and events", async () => {
		await expect(broker.call("echo.root", { id: null })).resolves.toEqual({});
		await expect(broker.call("echo.slow", { name: "a", note: null })).resolves.toEqual({
			name: "a",
		});
		await broker.emit("echo.heard", { text: null });
		await new Promise(resolve => setImmediate(resolve));
		expect(heard).toEqual([{}]);
	});

	it("leaves the action's schema as written (the OpenAPI document reads it)", () => {
		expect(deploymentParams.replicas).toBe("number|optional");
		expect(deploymentParams.resources.props.gpus).toBe("number|optional");
	});
});
