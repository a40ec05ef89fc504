import { batchGroup, concatRows, requestRows, splitRows } from "../../../lib/batching/tensor-rows";
import { InvalidInputError } from "../../../lib/errors";
import type { Tensor } from "../../../lib/inference/tensor";

const fp32 = (name: string, shape: number[], values: number[]): Tensor => ({
	name,
	datatype: "FP32",
	shape,
	data: Float32Array.from(values),
});

describe("requestRows", () => {
	it("returns the shared first dimension of the inputs", () => {
		expect(
			requestRows([
				fp32("x", [2, 2], [1, 2, 3, 4]),
				{ name: "ids", datatype: "BYTES", shape: [2], data: ["a", "b"] },
			]),
		).toBe(2);
	});

	it.each<[string, Tensor[], RegExp]>([
		["no inputs", [], /at least one input/],
		["an input given twice", [fp32("x", [1], [1]), fp32("x", [1], [2])], /given twice/],
		["a scalar without a batch dimension", [fp32("x", [], [1])], /batch first/],
		["a negative dimension", [fp32("x", [-1], [])], /concrete dimensions/],
		[
			"values of the wrong array type",
			[{ name: "x", datatype: "INT64", shape: [1], data: new Int32Array(1) }],
			/not the array for INT64/,
		],
		["fewer values than the shape needs", [fp32("x", [2, 2], [1, 2, 3])], /needs 4/],
		[
			"inputs with different row counts",
			[fp32("x", [2], [1, 2]), fp32("y", [3], [1, 2, 3])],
			/first dimension is the batch/,
		],
	])("refuses %s with InvalidInputError", (_what, inputs, message) => {
		expect(() => requestRows(inputs)).toThrow(InvalidInputError);
		expect(() => requestRows(inputs)).toThrow(message);
	});
});

describe("batchGroup", () => {
	const x = fp32("x", [1, 3], [1, 2, 3]);
	const y = fp32("y", [1, 2], [1, 2]);

	it("is the same whatever the order of inputs and outputs, and the row count", () => {
		expect(batchGroup([x, y], ["b", "a"])).toBe(
			batchGroup([y, fp32("x", [2, 3], [1, 2, 3, 4, 5, 6])], ["a", "b"]),
		);
	});

	it("differs by inner dimension, datatype, input name and outputs", () => {
		const group = batchGroup([x], undefined);
		expect(batchGroup([fp32("x", [1, 4], [1, 2, 3, 4])], undefined)).not.toBe(group);
		expect(
			batchGroup([{ ...x, datatype: "FP64", data: new Float64Array(3) }], undefined),
		).not.toBe(group);
		expect(batchGroup([{ ...x, name: "z" }], undefined)).not.toBe(group);
		expect(batchGroup([x], ["out"])).not.toBe(group);
	});

	it("tells apart shapes of the same size and names that look like dimensions", () => {
		const flat = fp32("x", [1, 12], new Array<number>(12).fill(0));
		const deep = fp32("x", [1, 1, 12], new Array<number>(12).fill(0));
		expect(batchGroup([flat], undefined)).not.toBe(batchGroup([deep], undefined));
		const named = fp32("x,12", [1, 1], [0]);
		expect(batchGroup([named], undefined)).not.toBe(batchGroup([flat], undefined));
	});
});

describe("concatRows", () => {
	it("joins numeric, bigint and BYTES inputs along the first dimension", () => {
		const joined = concatRows([
			[
				fp32("x", [1, 2], [1, 2]),
				{ name: "id", datatype: "INT64", shape: [1], data: BigInt64Array.of(7n) },
				{ name: "s", datatype: "BYTES", shape: [1, 2], data: ["a", "b"] },
			],
			[
				// Inputs in another order still join by name.
				{ name: "s", datatype: "BYTES", shape: [2, 2], data: ["c", "d", "e", "f"] },
				{ name: "id", datatype: "INT64", shape: [2], data: BigInt64Array.of(8n, 9n) },
				fp32("x", [2, 2], [3, 4, 5, 6]),
			],
		]);
		expect(joined).toEqual([
			fp32("x", [3, 2], [1, 2, 3, 4, 5, 6]),
			{ name: "id", datatype: "INT64", shape: [3], data: BigInt64Array.of(7n, 8n, 9n) },
			{ name: "s", datatype: "BYTES", shape: [3, 2], data: ["a", "b", "c", "d", "e", "f"] },
		]);
	});

	it("passes a single request's inputs on without copying them", () => {
		const x = fp32("x", [1, 2], [1, 2]);
		expect(concatRows([[x]])[0]).toBe(x);
	});
});

describe("splitRows", () => {
	it("gives each request its own rows, as copies that share no buffer", () => {
		const out = fp32("y", [3, 2], [1, 2, 3, 4, 5, 6]);
		const labels: Tensor = { name: "l", datatype: "BYTES", shape: [3], data: ["a", "b", "c"] };
		const parts = splitRows([out, labels], [1, 2]);
		expect(parts).toEqual([
			[fp32("y", [1, 2], [1, 2]), { name: "l", datatype: "BYTES", shape: [1], data: ["a"] }],
			[
				fp32("y", [2, 2], [3, 4, 5, 6]),
				{ name: "l", datatype: "BYTES", shape: [2], data: ["b", "c"] },
			],
		]);
		const part = parts[1][0].data as Float32Array;
		expect(part.buffer).not.toBe(out.data instanceof Float32Array && out.data.buffer);
		expect(part.buffer.byteLength).toBe(2 * 2 * 4);
	});

	it("passes a single request's outputs on as they are", () => {
		const total = fp32("total", [1], [42]);
		expect(splitRows([total], [5])[0][0]).toBe(total);
	});

	it("fails clearly when an output does not have one row per input row", () => {
		expect(() => splitRows([fp32("total", [1], [42])], [2, 3])).toThrow(
			/first dimension 1, not the batch size 5/,
		);
	});
});
