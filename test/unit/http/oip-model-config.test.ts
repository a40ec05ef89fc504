/** A version as Triton's ModelConfig, and back through a repository load's config parser. */
import { parseTritonConfig } from "../../../lib/http/model-repository/triton-model-config";
import { tritonModelConfig } from "../../../lib/http/oip-model-config";
import type { VersionView } from "../../../lib/registry/version-store";

function version(overrides: Partial<VersionView>): VersionView {
	return {
		model: "m",
		version: "1.0.0",
		format: "onnx",
		schema: {
			inputs: [{ name: "x", datatype: "FP32", shape: [-1, 4] }],
			outputs: [
				{ name: "y", datatype: "INT64", shape: [-1] },
				{ name: "label", datatype: "BYTES", shape: [-1, 1] },
			],
		},
		serving: {},
		...overrides,
	} as VersionView;
}

describe("tritonModelConfig", () => {
	it("leaves the batch dimension out of dims, names Triton's types, and reads back to the same schema and batching", () => {
		const v = version({
			serving: {
				batching: {
					maxBatchSize: 16,
					maxQueueDelayMicros: 100,
					preferredBatchSizes: [4, 8],
				},
			},
		});
		const config = tritonModelConfig(v);
		expect(config).toMatchObject({
			name: "m",
			backend: "onnxruntime",
			max_batch_size: 16,
			input: [{ name: "x", data_type: "TYPE_FP32", dims: [4] }],
			output: [
				{ name: "y", data_type: "TYPE_INT64", dims: [] },
				{ name: "label", data_type: "TYPE_STRING", dims: [1] },
			],
			dynamic_batching: {
				max_queue_delay_microseconds: 100,
				preferred_batch_size: [4, 8],
				default_queue_policy: { max_queue_size: 1024 },
			},
		});
		const back = parseTritonConfig(JSON.stringify(config), "m");
		expect(back.format).toBe("onnx");
		expect(back.schema).toEqual(v.schema);
		expect(back.batching).toEqual({
			enabled: true,
			maxBatchSize: 16,
			maxQueueDelayMicros: 100,
			maxQueueSize: 1024,
			preferredBatchSizes: [4, 8],
		});
	});

	it("says max_batch_size 0 (and no dynamic batching) for a model without a batch dimension or with batching off", () => {
		const fixed = tritonModelConfig(
			version({
				schema: {
					inputs: [{ name: "x", datatype: "FP32", shape: [2, 4] }],
					outputs: [{ name: "y", datatype: "FP32", shape: [2] }],
				},
			}),
		);
		expect(fixed).toMatchObject({ max_batch_size: 0, input: [{ dims: [2, 4] }] });
		expect(fixed.dynamic_batching).toBeUndefined();
		const off = tritonModelConfig(version({ serving: { batching: { enabled: false } } }));
		expect(off.max_batch_size).toBe(64);
		expect(off.dynamic_batching).toBeUndefined();
	});

	it("names XGBoost as Triton's FIL backend with its model type, which reads back as XGBoost JSON", () => {
		const config = tritonModelConfig(version({ format: "xgboost-json" }));
		expect(config).toMatchObject({
			backend: "fil",
			parameters: { model_type: { string_value: "xgboost_json" } },
		});
		expect(parseTritonConfig(config, "m").format).toBe("xgboost-json");
	});
});
