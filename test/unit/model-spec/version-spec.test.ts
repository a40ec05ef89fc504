import { checkVersionSpec, type VersionSpec } from "../../../lib/model-spec/version-spec";

const base = (): VersionSpec => ({
	schema: {
		inputs: [
			{
				name: "x",
				datatype: "FP32",
				shape: [-1, 3],
				features: [{ name: "a" }, { name: "b" }, { name: "c", min: 0, max: 1 }],
			},
		],
		outputs: [{ name: "y", datatype: "FP32", shape: [-1, 2] }],
	},
	pipeline: {
		pre: [
			{ type: "impute", strategy: "constant", values: [0, 0, 0] },
			{ type: "standardize", mean: [1, 2, 3], std: [1, 1, 1] },
			{ type: "one-hot", feature: 2, categories: ["x", "y"] },
			{ type: "clip", min: -5, max: 5 },
		],
		post: [{ type: "softmax" }, { type: "top-k", k: 2 }, { type: "threshold", value: 0.5 }],
	},
	labels: ["no", "yes"],
	metrics: [{ name: "accuracy", value: 0.97, dataset: { split: "test" } }],
});

describe("checkVersionSpec", () => {
	it("accepts a consistent spec", () => {
		expect(() => checkVersionSpec(base())).not.toThrow();
	});

	it.each<[string, (s: VersionSpec) => void, RegExp]>([
		[
			"features that disagree with the shape",
			s => (s.schema.inputs[0].shape = [-1, 4]),
			/schema.inputs\[0\].features: 3 features given but the last dimension is 4/,
		],
		[
			"a feature range upside down",
			s => (s.schema.inputs[0].features![2] = { name: "c", min: 2, max: 1 }),
			/features\[2\]: min 2 is above max 1/,
		],
		[
			"duplicate tensor names",
			s => s.schema.outputs.push({ name: "y", datatype: "FP32", shape: [1] }),
			/schema.outputs: tensor names must be unique/,
		],
		[
			"a zero std",
			s => (s.pipeline.pre[1] = { type: "standardize", mean: [0], std: [0] }),
			/pipeline.pre\[1\].std: every std must be above 0/,
		],
		[
			"min-max bounds reversed",
			s => (s.pipeline.pre[0] = { type: "minmax", min: [1], max: [0] }),
			/pipeline.pre\[0\]: every min must be below its max/,
		],
		[
			"repeated categories",
			s => (s.pipeline.pre[2] = { type: "one-hot", feature: 0, categories: ["a", "a"] }),
			/must not repeat a category/,
		],
		[
			"top-k of zero",
			s => (s.pipeline.post[1] = { type: "top-k", k: 0 }),
			/pipeline.post\[1\].k: must be an integer ≥ 1/,
		],
		[
			"a metric given twice",
			s => s.metrics.push({ name: "accuracy", value: 0.5, dataset: { split: "test" } }),
			/a metric is given twice/,
		],
	])("refuses %s, naming the field", (_, change, message) => {
		const spec = base();
		change(spec);
		expect(() => checkVersionSpec(spec)).toThrow(message);
	});
});
