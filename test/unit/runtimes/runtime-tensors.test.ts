import { InvalidInputError, ModelLoadError } from "../../../lib/errors";
import type { Tensor } from "../../../lib/inference/tensor";
import type { TensorSpec } from "../../../lib/model-spec/model-schema";
import { loadError, matchInputs, selectOutputs } from "../../../lib/runtimes/runtime-tensors";

const SPECS: TensorSpec[] = [
	{ name: "a", datatype: "FP32", shape: [-1, 2] },
	{ name: "b", datatype: "INT64", shape: [] },
];

const a: Tensor = { name: "a", datatype: "FP32", shape: [1, 2], data: new Float32Array(2) };
const b: Tensor = { name: "b", datatype: "INT64", shape: [3], data: new BigInt64Array(3) };

function thrown(fn: () => unknown): Error {
	try {
		fn();
	} catch (error) {
		return error as Error;
	}
	throw new Error("nothing was thrown");
}

describe("matchInputs", () => {
	it("orders the inputs as the schema does; an empty schema shape takes any shape", () => {
		expect(matchInputs(SPECS, [b, a])).toEqual([a, b]);
	});

	it.each([
		["a repeated input", [a, a, b], /given twice/],
		["a missing input", [a], /'b' is missing/],
		["an unknown input", [a, b, { ...a, name: "c" }], /no input 'c'/],
		["a negative dimension", [{ ...a, shape: [-1, 2] }, b], /whole numbers ≥ 0/],
		["a fixed dimension that differs", [{ ...a, shape: [2, 1] }, b], /takes \[-1, 2\]/],
		["an array of another type", [{ ...a, data: new Int32Array(2) }, b], /not a Float32Array/],
		["BYTES data that is not a list", [a, { ...b, datatype: "BYTES" }], /BYTES, but the model/],
	] as [string, Tensor[], RegExp][])("refuses %s", (_label, inputs, message) => {
		const error = thrown(() => matchInputs(SPECS, inputs));
		expect(error).toBeInstanceOf(InvalidInputError);
		expect(error.message).toMatch(message);
	});
});

describe("selectOutputs", () => {
	it("gives all by default, else those asked, each once, in the order asked", () => {
		expect(selectOutputs(SPECS, undefined)).toEqual(["a", "b"]);
		expect(selectOutputs(SPECS, ["b", "a", "b"])).toEqual(["b", "a"]);
		expect(thrown(() => selectOutputs(SPECS, ["z"]))).toBeInstanceOf(InvalidInputError);
	});
});

describe("loadError", () => {
	it("is a retryable ModelLoadError naming the file, not its path", () => {
		const error = loadError(
			"/cache/ab/abcdef.bin",
			"X",
			new Error("bad bytes in /cache/ab/abcdef.bin"),
		);
		expect(error).toBeInstanceOf(ModelLoadError);
		expect(error.retryable).toBe(true);
		expect(error.message).toBe(
			"Model abcdef.bin could not be loaded: X cannot load it: bad bytes in the file",
		);
	});
});
