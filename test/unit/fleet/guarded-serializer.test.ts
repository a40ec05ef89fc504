import { ServiceBroker } from "moleculer";
import { JsonTooDeepError } from "../../../lib/errors";
import { GuardedCborSerializer } from "../../../lib/fleet/guarded-serializer";

function nested(depth: number): unknown {
	let value: unknown = {};
	for (let i = 0; i < depth; i++) value = { a: value };
	return value;
}

describe("GuardedCborSerializer", () => {
	const serializer = new GuardedCborSerializer(64);
	serializer.init(new ServiceBroker({ logger: false }));

	it("writes and reads packets as Moleculer's CBOR serializer does, typed arrays as bytes", () => {
		const payload = {
			ver: "5",
			sender: "n1",
			params: { t: Float32Array.of(1, 2), deep: nested(80) },
		};
		const back = serializer.deserialize(serializer.serialize(payload, "REQ"));
		expect(back.params.t).toEqual(Float32Array.of(1, 2));
		expect(back.params.deep).toEqual(payload.params.deep);
	});

	it("refuses a request nested past the stack with 400 JSON_TOO_DEEP, not a RangeError", () => {
		expect(() =>
			serializer.serialize({ ver: "5", sender: "n1", params: nested(100_000) }, "REQ"),
		).toThrow(JsonTooDeepError);
		// The encoder is fine afterwards.
		expect(serializer.deserialize(serializer.serialize({ a: [1] }, "REQ"))).toEqual({ a: [1] });
	});

	it("sends a response nested past the stack as that error, so the caller hears it", () => {
		const packet = serializer.deserialize(
			serializer.serialize(
				{
					ver: "5",
					sender: "n1",
					id: "r1",
					success: true,
					data: nested(100_000),
					meta: {},
				},
				"RES",
			),
		);
		expect(packet).toMatchObject({
			id: "r1",
			success: false,
			data: null,
			error: { code: 400, type: "JSON_TOO_DEEP", nodeID: "n1" },
		});
	});
});
