import { ServiceBroker } from "moleculer";
import { GuardedCborSerializer } from "../../../lib/fleet/guarded-serializer";
import {
	AnsweredAsJson,
	JSON_ANSWER_TAG,
	JsonAnswer,
	answeredAsJson,
	structuredResult,
} from "../../../lib/http/json-answer";
import { inferResponseText } from "../../../lib/http/infer-request";
import type { InferResult } from "../../../lib/predictor/served-model";

function result(overrides: Partial<InferResult> = {}): InferResult {
	return {
		modelName: "digits",
		modelVersion: "2.0.0",
		outputs: [
			{
				name: "probabilities",
				datatype: "FP32",
				shape: [1, 3],
				data: Float32Array.of(0.25, 0.5, 0.25),
			},
		],
		executionProvider: "cpu",
		steps: [],
		rows: 1,
		...overrides,
	};
}

describe("JSON answers on the bus", () => {
	const serializer = new GuardedCborSerializer(64);
	serializer.init(new ServiceBroker({ logger: false }));

	it("is still the result on the node that made it, every field the meter reads included", () => {
		const made = answeredAsJson(result({ id: "p-1", parameters: { a: 1 } }));
		expect(made).toBeInstanceOf(AnsweredAsJson);
		expect({ ...made }).toEqual(result({ id: "p-1", parameters: { a: 1 } }));
		// No field the result did not have (an `id: undefined` would be a key in the answer).
		expect(Object.keys(answeredAsJson(result()))).not.toContain("id");
		expect(structuredResult(made)).toBe(made);
	});

	it("travels as the JSON text the gateway would have written, in a response packet of outcomes", () => {
		const answered = result({ id: "p-1" });
		const packet = {
			ver: "5",
			sender: "worker-1",
			id: "r1",
			success: true,
			data: [
				{ ok: true, value: answeredAsJson(answered) },
				{ ok: false, error: { name: "ValidationError", code: 400 } },
				{ ok: true, value: result() },
			],
			meta: {},
		};
		const bytes = serializer.serialize(packet, "RES");
		const back = serializer.deserialize(bytes) as { data: Array<{ value?: unknown }> };
		const answer = back.data[0].value;
		expect(answer).toBeInstanceOf(JsonAnswer);
		expect((answer as JsonAnswer).bytes.toString("utf8")).toBe(inferResponseText(answered));
		expect(JSON.parse((answer as JsonAnswer).bytes.toString("utf8"))).toMatchObject({
			model_name: "digits",
			model_version: "2.0.0",
			id: "p-1",
			parameters: { execution_provider: "cpu" },
			outputs: [
				{ name: "probabilities", datatype: "FP32", shape: [1, 3], data: [0.25, 0.5, 0.25] },
			],
		});
		// Errors and results that were not forwarded travel as before.
		expect(back.data[1]).toEqual(packet.data[1]);
		expect(back.data[2].value).toMatchObject({ modelName: "digits", rows: 1 });
	});

	it("refuses a tag that does not hold bytes, as a malformed message", () => {
		// Tag 28006 (0xd9 0x6d 0x66) over the text "x" (0x61 0x78).
		expect(JSON_ANSWER_TAG).toBe(0x6d66);
		expect(() => serializer.deserialize(Buffer.from([0xd9, 0x6d, 0x66, 0x61, 0x78]))).toThrow(
			"must be a byte string",
		);
	});

	it("is a fault of ours where a caller that parses its requests gets one", () => {
		expect(() => structuredResult(new JsonAnswer(Buffer.from("{}")))).toThrow(
			"not forwarded as JSON",
		);
	});
});
