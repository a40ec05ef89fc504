import { toHalfBits } from "../../../lib/inference/fp16";
import {
	encodeInferenceResponse,
	encodeOutputTensor,
} from "../../../lib/inference/response-encoder";
import type { Tensor } from "../../../lib/inference/tensor";

describe("encodeOutputTensor", () => {
	it.each<[string, Tensor, unknown[]]>([
		[
			"FP32 values as numbers, NaN and infinities as null",
			{
				name: "y",
				datatype: "FP32",
				shape: [2, 2],
				data: Float32Array.of(0.5, NaN, Infinity, -2),
			},
			[0.5, null, null, -2],
		],
		[
			"FP16 bit patterns as the numbers they stand for",
			{
				name: "y",
				datatype: "FP16",
				shape: [2],
				data: Uint16Array.of(toHalfBits(1.5), toHalfBits(-0.25)),
			},
			[1.5, -0.25],
		],
		[
			"INT64 as numbers where safe, else as strings",
			{
				name: "y",
				datatype: "INT64",
				shape: [3],
				data: BigInt64Array.of(-7n, 2n ** 53n - 1n, -(2n ** 62n)),
			},
			[-7, 9007199254740991, "-4611686018427387904"],
		],
		[
			"UINT64 past 2^53 as strings",
			{ name: "y", datatype: "UINT64", shape: [1], data: BigUint64Array.of(2n ** 64n - 1n) },
			["18446744073709551615"],
		],
		[
			"BOOL as true and false",
			{ name: "y", datatype: "BOOL", shape: [3], data: Uint8Array.of(1, 0, 1) },
			[true, false, true],
		],
		[
			"INT8 as numbers",
			{ name: "y", datatype: "INT8", shape: [2], data: Int8Array.of(-128, 127) },
			[-128, 127],
		],
		[
			"BYTES as strings",
			{ name: "y", datatype: "BYTES", shape: [2], data: ["setosa", "virginica"] },
			["setosa", "virginica"],
		],
	])("writes %s, flat", (_, tensor, data) => {
		const output = encodeOutputTensor(tensor);
		expect(output).toEqual({
			name: "y",
			shape: tensor.shape,
			datatype: tensor.datatype,
			data,
		});
		expect(Array.isArray(output.data)).toBe(true);
	});
});

describe("encodeInferenceResponse", () => {
	const outputs: Tensor[] = [
		{
			name: "probabilities",
			datatype: "FP64",
			shape: [1, 2],
			data: Float64Array.of(0.25, 0.75),
		},
		{ name: "predicted_label", datatype: "BYTES", shape: [1], data: ["yes"] },
	];

	it("echoes the id and version and encodes every output", () => {
		expect(
			encodeInferenceResponse({
				modelName: "iris",
				modelVersion: "1.0.0",
				id: "42",
				outputs,
			}),
		).toEqual({
			model_name: "iris",
			model_version: "1.0.0",
			id: "42",
			outputs: [
				{ name: "probabilities", shape: [1, 2], datatype: "FP64", data: [0.25, 0.75] },
				{ name: "predicted_label", shape: [1], datatype: "BYTES", data: ["yes"] },
			],
		});
	});

	it("keeps only the outputs the request asked for, in its order", () => {
		const response = encodeInferenceResponse({
			modelName: "iris",
			outputs,
			requested: ["predicted_label"],
		});
		expect(response.outputs.map(o => o.name)).toEqual(["predicted_label"]);
		expect(response).not.toHaveProperty("id");
	});
});
