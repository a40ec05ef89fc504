import type { IncomingMessage, ServerResponse } from "node:http";
import { ServiceBroker, type Context, type Service } from "moleculer";
import { accessMiddleware } from "../../../../lib/accounts/access";
import type { InferResult } from "../../../../lib/predictor/served-model";
import { callerMixin } from "../../../../mixins/gateway/caller.mixin";
import type { HttpMeta } from "../../../../mixins/gateway/http-context";
import { oipMixin, type OipMethods } from "../../../../mixins/gateway/oip.mixin";
import { signedMeta, testTrust } from "../../../support/fleet-secret";

const META = signedMeta("t1", "predictor", "k1");

async function start(withPredictor: boolean) {
	const trust = testTrust();
	const broker = new ServiceBroker({ logger: false, middlewares: [accessMiddleware(trust)] });
	const seen: Array<Record<string, unknown>> = [];
	if (withPredictor)
		broker.createService({
			name: "predictor",
			actions: {
				infer(ctx: Context<Record<string, unknown>, HttpMeta>): InferResult {
					seen.push(ctx.params);
					ctx.meta.servedBy = "worker-1";
					return {
						modelName: "m",
						modelVersion: "1.0.0",
						outputs: [
							{
								name: "y",
								datatype: "FP32",
								shape: [1, 1],
								data: Float32Array.of(2),
							},
						],
						executionProvider: "cpu",
						steps: ["scale"],
						rows: 1,
					};
				},
			},
		});
	const gateway = broker.createService({
		name: "gw",
		mixins: [callerMixin({ trust }), oipMixin({ neededServices: [] })],
	}) as Service & OipMethods;
	await broker.start();
	return { broker, gateway, seen };
}

describe("oipMixin", () => {
	it("describes the server and is ready only with a predictor in the fleet", async () => {
		const { broker } = await start(false);
		try {
			expect(await broker.call("gw.v2Server")).toMatchObject({
				name: "modelfleet",
				extensions: [
					"binary_tensor_data",
					"classification",
					"model_configuration",
					"model_repository",
					"statistics",
				],
			});
			const ctx = broker.ContextFactory.create(broker, null as never, {}, { meta: {} });
			expect(await ctx.call("gw.v2Ready")).toEqual({ ready: false });
			expect((ctx.meta as HttpMeta).$statusCode).toBe(503);
		} finally {
			await broker.stop();
		}
	});

	it("predicts for the caller: the OIP answer with the provider and steps, and the node that answered", async () => {
		const { broker, seen } = await start(true);
		try {
			const ctx = broker.ContextFactory.create(
				broker,
				null as never,
				{},
				{ meta: { ...META } },
			);
			const answer = await ctx.call("gw.predict", { model: "m", inputs: [] });
			expect(answer).toMatchObject({
				model_name: "m",
				model_version: "1.0.0",
				parameters: { execution_provider: "cpu", pipeline_steps: ["scale"] },
				outputs: [{ name: "y", data: [2] }],
			});
			expect(seen).toEqual([{ model: "m", inputs: [] }]);
			expect((ctx.meta as HttpMeta).$responseHeaders).toEqual({
				"x-modelfleet-node": "worker-1",
			});
			await expect(
				broker.call(
					"gw.predict",
					{ model: "m" },
					{ meta: signedMeta("t1", "viewer", "k1") },
				),
			).rejects.toMatchObject({ code: 403 });
		} finally {
			await broker.stop();
		}
	});

	it("leaves every request but infer to moleculer-web", async () => {
		const { broker, gateway } = await start(true);
		try {
			const req = (method: string, url: string) =>
				({ method, url, headers: {} }) as unknown as IncomingMessage;
			const res = {} as ServerResponse;
			expect(gateway.serveDirectInfer(req("GET", "/v2/models/m"), res)).toBe(false);
			expect(gateway.serveDirectInfer(req("POST", "/api/v1/models/m/predict"), res)).toBe(
				false,
			);
		} finally {
			await broker.stop();
		}
	});
});
