import { elementCount, typedArrayName } from "../../../lib/inference/tensor";

describe("typedArrayName", () => {
	it("names typed arrays by their kind, a Buffer as the Uint8Array it is", () => {
		expect(typedArrayName(new Float32Array(2))).toBe("Float32Array");
		expect(typedArrayName(new BigInt64Array(1))).toBe("BigInt64Array");
		expect(typedArrayName(Buffer.from("ab"))).toBe("Uint8Array");
	});

	it("names nothing else, however it dresses up", () => {
		const spoof = { [Symbol.toStringTag]: "Float32Array", length: 2 };
		expect(Object.prototype.toString.call(spoof)).toBe("[object Float32Array]");
		expect(typedArrayName(spoof)).toBeUndefined();
		const relabelled = new Int8Array(2);
		Object.defineProperty(relabelled, Symbol.toStringTag, { value: "Float32Array" });
		expect(typedArrayName(relabelled)).toBe("Int8Array");
		expect(typedArrayName(new DataView(new ArrayBuffer(4)))).toBeUndefined();
		expect(typedArrayName([1, 2])).toBeUndefined();
		expect(typedArrayName(null)).toBeUndefined();
	});
});

describe("elementCount", () => {
	it("multiplies the dimensions; a scalar holds one value", () => {
		expect(elementCount([])).toBe(1);
		expect(elementCount([64, 3, 32, 32])).toBe(196_608);
		expect(elementCount([4, 0, 2])).toBe(0);
	});
});
