import { ProtobufReader } from "../../../lib/onnx/protobuf-reader";
import { ProtobufWriter, WireType } from "../../../lib/onnx/protobuf-writer";

describe("ProtobufWriter and ProtobufReader", () => {
	it("encode varints as protobuf does (https://protobuf.dev/programming-guides/encoding/)", () => {
		expect(Array.from(new ProtobufWriter().int64(1, 150).finish())).toEqual([0x08, 0x96, 0x01]);
		// Negative int64: ten bytes, two's complement.
		expect(Array.from(new ProtobufWriter().int64(1, -1).finish())).toEqual([
			0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
		]);
		expect(Array.from(new ProtobufWriter().string(2, "testing").finish())).toEqual([
			0x12, 0x07, 0x74, 0x65, 0x73, 0x74, 0x69, 0x6e, 0x67,
		]);
	});

	it("read back what was written, field by field", () => {
		const inner = new ProtobufWriter().int64(1, 7).string(2, "inner");
		const bytes = new ProtobufWriter()
			.int64(1, 2 ** 40)
			.int64(2, -3)
			.int64(3, 2n ** 63n - 1n)
			.float(4, 0.5)
			.double(5, -1.25)
			.packedInt64(6, [1, -1, 300])
			.message(7, inner)
			.bytes(8, new Uint8Array(100).fill(9))
			.finish();
		const reader = new ProtobufReader(bytes);
		const read: unknown[] = [];
		while (!reader.done) {
			const { field, wireType } = reader.tag();
			if (field === 1) read.push(reader.uint());
			else if (field === 2) read.push(reader.int());
			else if (field === 3) read.push(reader.varint());
			else if (field === 4) read.push(reader.float());
			else if (field === 5) read.push(reader.double());
			else if (field === 6) read.push(reader.repeatedInt(wireType));
			else if (field === 7) {
				const nested = new ProtobufReader(reader.bytesValue());
				nested.tag();
				const seven = nested.int();
				nested.tag();
				read.push([seven, nested.string()]);
			} else {
				expect(wireType).toBe(WireType.LENGTH_DELIMITED);
				read.push(reader.bytesValue().length);
			}
		}
		expect(read).toEqual([
			2 ** 40,
			-3,
			2n ** 63n - 1n,
			0.5,
			-1.25,
			[1, -1, 300],
			[7, "inner"],
			100,
		]);
	});

	it("refuses values that cannot be varints", () => {
		expect(() => new ProtobufWriter().int64(1, 0.5)).toThrow(RangeError);
		expect(() => new ProtobufWriter().int64(1, 2n ** 64n)).toThrow(RangeError);
		expect(() => new ProtobufWriter().int64(0, 1)).toThrow(RangeError);
	});

	it("says where a length runs past the end", () => {
		const reader = new ProtobufReader(Uint8Array.from([0x12, 0x05, 0x01]), 1000);
		reader.tag();
		expect(() => reader.bytesValue()).toThrow(
			"a length-delimited value claims 5 bytes but only 1 remain at byte 1001",
		);
	});
});
