import { SchemaMismatchError } from "../../../lib/errors";
import { reconcileSchema } from "../../../lib/importers/schema-reconciler";
import type { ModelSchema } from "../../../lib/model-spec/model-schema";

const FILE: ModelSchema = {
	inputs: [
		{
			name: "input",
			datatype: "FP32",
			shape: [-1, 3],
			features: [{ name: "a" }, { name: "b" }, { name: "c" }],
		},
		{ name: "mask", datatype: "BOOL", shape: [-1, -1] },
	],
	outputs: [{ name: "predict", datatype: "FP32", shape: [-1, 2] }],
};

/** The file's schema with one change. */
function given(change: (schema: ModelSchema) => void): ModelSchema {
	const schema = structuredClone(FILE);
	change(schema);
	return schema;
}

function mismatch(schema: ModelSchema): SchemaMismatchError {
	try {
		reconcileSchema(schema, FILE);
	} catch (error) {
		expect(error).toBeInstanceOf(SchemaMismatchError);
		return error as SchemaMismatchError;
	}
	throw new Error("expected a SchemaMismatchError");
}

describe("reconcileSchema", () => {
	it("takes the file's schema when none is given", () => {
		expect(reconcileSchema(undefined, FILE)).toBe(FILE);
	});

	it("accepts the file's own schema unchanged", () => {
		expect(reconcileSchema(structuredClone(FILE), FILE)).toEqual(FILE);
	});

	it("lets a given size fix a dimension the file leaves dynamic", () => {
		const result = reconcileSchema(
			given(s => (s.inputs[1].shape = [-1, 16])),
			FILE,
		);
		expect(result.inputs[1].shape).toEqual([-1, 16]);
	});

	it("keeps the file's fixed size where the given schema says -1", () => {
		const result = reconcileSchema(
			given(s => (s.inputs[0].shape = [-1, -1])),
			FILE,
		);
		expect(result.inputs[0].shape).toEqual([-1, 3]);
	});

	it("keeps given feature ranges and categories", () => {
		const features = [
			{ name: "a", min: 0, max: 10 },
			{ name: "b", categories: ["x", "y"] },
			{ name: "c" },
		];
		const result = reconcileSchema(
			given(s => (s.inputs[0].features = features)),
			FILE,
		);
		expect(result.inputs[0].features).toEqual(features);
	});

	it("adds given features where the file has none", () => {
		const result = reconcileSchema(
			given(s => (s.outputs[0].features = [{ name: "no" }, { name: "yes" }])),
			FILE,
		);
		expect(result.outputs[0].features).toEqual([{ name: "no" }, { name: "yes" }]);
	});

	it.each<[string, (s: ModelSchema) => void, string, unknown, unknown]>([
		["inputs", s => s.inputs.pop(), "inputs", ["input"], ["input", "mask"]],
		["a name", s => (s.outputs[0].name = "y"), "outputs[0].name", "y", "predict"],
		[
			"a datatype",
			s => (s.inputs[1].datatype = "UINT8"),
			"inputs[1].datatype",
			"UINT8",
			"BOOL",
		],
		["a rank", s => (s.inputs[0].shape = [3]), "inputs[0].shape", [3], [-1, 3]],
		["a fixed dimension", s => (s.inputs[0].shape = [-1, 4]), "inputs[0].shape[1]", 4, 3],
		[
			"a feature name",
			s => (s.inputs[0].features = [{ name: "a" }, { name: "B" }, { name: "c" }]),
			"inputs[0].features[1].name",
			"B",
			"b",
		],
		[
			"the feature count",
			s => (s.outputs[0].features = [{ name: "only" }]),
			"outputs[0].features",
			"1 features",
			"2 (the last dimension)",
		],
	])("names the place where %s differs", (_, change, where, givenValue, inFile) => {
		const error = mismatch(given(change));
		expect(error.type).toBe("SCHEMA_MISMATCH");
		expect(error.data).toEqual({ where, given: givenValue, inFile });
		expect(error.message).toContain(`at ${where}:`);
	});
});
