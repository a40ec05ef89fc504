import { Errors } from "moleculer";
import type { InferResult } from "../../../lib/predictor/served-model";
import type { RoutingMeta } from "../../../lib/routing/traffic-middleware";
import {
	InferCoalescing,
	inferGroupKey,
	requestSize,
	type InferCall,
	type InferManyParams,
} from "../../../lib/routing/infer-coalescing";

const OPTIONS = { maxRows: 100, maxBytes: 1 << 20, maxWaitMicros: 60_000_000, maxInFlight: 1 };
const META: RoutingMeta = { tenant: "t", role: "developer", keyId: "k", identity: "token-1" };

function resultOf(id: unknown): InferResult {
	return { id, modelName: "m", modelVersion: "1" } as unknown as InferResult;
}

describe("inferGroupKey", () => {
	const call = (params: Record<string, unknown>, meta = META): InferCall => ({ params, meta });

	it("groups calls of one identity, model, version and routing key, and no others", () => {
		const key = inferGroupKey(call({ model: "m", inputs: [] }));
		expect(inferGroupKey(call({ model: "m", inputs: [1] }))).toBe(key);
		expect(inferGroupKey(call({ model: "m2" }))).not.toBe(key);
		expect(inferGroupKey(call({ model: "m", version: "2" }))).not.toBe(key);
		expect(inferGroupKey(call({ model: "m" }, { ...META, identity: "token-2" }))).not.toBe(key);
		expect(inferGroupKey(call({ model: "m" }, { ...META, routingKey: "u1" }))).not.toBe(key);
		expect(inferGroupKey(call({ model: "m", parameters: { routing_key: "u1" } }))).not.toBe(
			key,
		);
	});
});

describe("requestSize", () => {
	it("reads the rows from the first input's shape and the bytes from its data", () => {
		expect(
			requestSize({
				inputs: [
					{ shape: [8, 4], data: new Float32Array(32) },
					{ shape: [8], data: [1, 2] },
				],
			}),
		).toEqual({ rows: 8, bytes: 128 + 16 });
		expect(requestSize({ instances: [[1], [2], [3]] })).toEqual({ rows: 3, bytes: 192 });
		expect(requestSize({})).toEqual({ rows: 1, bytes: 64 });
	});

	it("counts a request forwarded as its JSON bytes as one row of those bytes", () => {
		expect(requestSize({ json: Buffer.alloc(1500) })).toEqual({ rows: 1, bytes: 1500 });
	});
});

describe("InferCoalescing", () => {
	it("sends a lone call as infer, and calls that arrive meanwhile as one inferMany, split on return", async () => {
		const sentMany: Array<{ params: InferManyParams; meta: unknown }> = [];
		let answerOne: () => void = () => undefined;
		const regenerator = new Errors.Regenerator();
		const coalescing = new InferCoalescing<InferResult>(OPTIONS, {
			callOne: call =>
				new Promise(resolve => {
					answerOne = () => resolve({ result: resultOf(call.params.id), servedBy: "w1" });
				}),
			callMany: async (params, meta) => {
				sentMany.push({ params, meta });
				return {
					outcomes: params.requests.map(request =>
						request.id === "bad"
							? {
									ok: false as const,
									error: {
										name: "InvalidInputError",
										message: "bad input",
										code: 400,
										type: "INVALID_INPUT",
										data: { where: "x" },
									},
								}
							: { ok: true as const, value: resultOf(request.id) },
					),
					servedBy: "w2",
				};
			},
			restoreError: (plain, servedBy) =>
				regenerator.restore(plain as Errors.PlainMoleculerError, { sender: servedBy }),
		});
		const params = (id: string) => ({
			model: "m",
			version: "1",
			id,
			parameters: { routing_key: "u" },
		});
		const first = coalescing.infer(params("a"), META);
		const others = ["b", "bad", "c"].map(id => coalescing.infer(params(id), META));
		answerOne();
		await expect(first).resolves.toEqual({ result: resultOf("a"), servedBy: "w1" });
		const outcomes = await Promise.allSettled(others);
		expect(sentMany).toHaveLength(1);
		expect(sentMany[0].meta).toBe(META);
		expect(sentMany[0].params).toEqual({
			model: "m",
			version: "1",
			requests: ["b", "bad", "c"].map(id => ({ id, parameters: { routing_key: "u" } })),
			parameters: { routing_key: "u" },
		});
		expect(outcomes[0]).toEqual({
			status: "fulfilled",
			value: { result: resultOf("b"), servedBy: "w2" },
		});
		expect(outcomes[2]).toEqual({
			status: "fulfilled",
			value: { result: resultOf("c"), servedBy: "w2" },
		});
		const error = (outcomes[1] as PromiseRejectedResult).reason as Errors.MoleculerError;
		expect(error).toBeInstanceOf(Error);
		expect({
			message: error.message,
			code: error.code,
			type: error.type,
			data: error.data,
		}).toEqual({
			message: "bad input",
			code: 400,
			type: "INVALID_INPUT",
			data: { where: "x" },
		});
		expect(coalescing.stats()).toEqual({ calls: 2, groups: 1, items: 4 });
	});
});
