import { InvalidInputError } from "../../../../lib/errors";
import { parseTritonConfig } from "../../../../lib/http/model-repository/triton-model-config";

function refusal(config: unknown, model = "m"): string {
	try {
		parseTritonConfig(config, model);
	} catch (error) {
		expect(error).toBeInstanceOf(InvalidInputError);
		return (error as Error).message;
	}
	throw new Error("the config was accepted");
}

describe("parseTritonConfig", () => {
	it("reads the backend of each served format, as Triton names it", () => {
		expect(parseTritonConfig('{"backend":"onnxruntime"}', "m").format).toBe("onnx");
		expect(parseTritonConfig({ platform: "onnxruntime_onnx" }, "m").format).toBe("onnx");
		expect(parseTritonConfig({ backend: "tfjs" }, "m").format).toBe("tfjs");
		expect(
			parseTritonConfig(
				{ backend: "fil", parameters: { model_type: { string_value: "xgboost_json" } } },
				"m",
			).format,
		).toBe("xgboost-json");
		expect(parseTritonConfig({}, "m")).toEqual({
			format: null,
			schema: null,
			batching: null,
			version: null,
		});
	});

	it("refuses backends and FIL model types it cannot serve, naming those it can", () => {
		expect(refusal({ backend: "pytorch" })).toMatch(/'pytorch' is not served.*onnxruntime/);
		expect(
			refusal({ backend: "fil", parameters: { model_type: { string_value: "xgboost" } } }),
		).toMatch(/xgboost_json.*"xgboost"/);
		expect(refusal({ backend: "fil" })).toMatch(/model_type/);
	});

	it("turns input and output into a schema, with the batch dimension when max_batch_size > 0", () => {
		const config = {
			max_batch_size: 8,
			input: [{ name: "x", data_type: "TYPE_FP32", dims: [4] }],
			output: [
				{ name: "y", data_type: "TYPE_INT64", dims: ["2"] },
				{ name: "label", data_type: "TYPE_STRING", dims: [-1] },
			],
		};
		expect(parseTritonConfig(JSON.stringify(config), "m").schema).toEqual({
			inputs: [{ name: "x", datatype: "FP32", shape: [-1, 4] }],
			outputs: [
				{ name: "y", datatype: "INT64", shape: [-1, 2] },
				{ name: "label", datatype: "BYTES", shape: [-1, -1] },
			],
		});
		expect(
			parseTritonConfig({ ...config, max_batch_size: 0 }, "m").schema?.inputs[0].shape,
		).toEqual([4]);
	});

	it("refuses a malformed schema, naming the field", () => {
		expect(refusal({ input: [{ name: "x", data_type: "TYPE_FP32", dims: [4] }] })).toMatch(
			/both input and output/,
		);
		expect(
			refusal({
				input: [{ name: "x", data_type: "TYPE_BF16", dims: [4] }],
				output: [{ name: "y", data_type: "TYPE_FP32", dims: [1] }],
			}),
		).toMatch(/input\[0\]\.data_type "TYPE_BF16"/);
		expect(
			refusal({
				input: [{ name: "x", data_type: "TYPE_FP32", dims: [0] }],
				output: [{ name: "y", data_type: "TYPE_FP32", dims: [1] }],
			}),
		).toMatch(/input\[0\]\.dims\[0\]/);
		expect(refusal({ input: [], output: [] })).toMatch(/input must be a non-empty array/);
	});

	it("maps max_batch_size and dynamic_batching onto batching settings", () => {
		expect(
			parseTritonConfig(
				{
					max_batch_size: 32,
					dynamic_batching: {
						max_queue_delay_microseconds: "500",
						preferred_batch_size: [8, 16],
						default_queue_policy: { max_queue_size: 100 },
					},
				},
				"m",
			).batching,
		).toEqual({
			enabled: true,
			maxBatchSize: 32,
			maxQueueDelayMicros: 500,
			preferredBatchSizes: [8, 16],
			maxQueueSize: 100,
		});
		expect(parseTritonConfig({ max_batch_size: 0 }, "m").batching).toEqual({ enabled: false });
		expect(parseTritonConfig({ max_batch_size: 4 }, "m").batching).toEqual({
			enabled: false,
			maxBatchSize: 4,
		});
		expect(refusal({ dynamic_batching: {} })).toMatch(/max_batch_size above 0/);
		expect(refusal({ max_batch_size: -1 })).toMatch(/max_batch_size must be an integer/);
		expect(
			refusal({ max_batch_size: 4, dynamic_batching: { preferred_batch_size: [8] } }),
		).toMatch(/preferred_batch_size\[0\]/);
	});

	it("takes one specific version from version_policy as N.0.0", () => {
		expect(
			parseTritonConfig({ version_policy: { specific: { versions: [3] } } }, "m").version,
		).toBe("3.0.0");
		expect(
			parseTritonConfig({ version_policy: { latest: { num_versions: 1 } } }, "m").version,
		).toBe(null);
		expect(refusal({ version_policy: { specific: { versions: [1, 2] } } })).toMatch(
			/one version/,
		);
	});

	it("refuses text that is not a JSON object, and a config naming another model", () => {
		expect(refusal("{bad")).toMatch(/not valid JSON/);
		expect(refusal("[1]")).toMatch(/JSON object/);
		expect(refusal({ name: "other" }, "m")).toMatch(/'other' is not the model loaded \('m'\)/);
		expect(parseTritonConfig({ name: "m" }, "m").format).toBeNull();
	});
});
