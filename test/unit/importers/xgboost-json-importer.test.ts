import * as fs from "node:fs";
import * as path from "node:path";
import { InvalidModelFileError } from "../../../lib/errors";
import { XgboostJsonImporter } from "../../../lib/importers/xgboost-json-importer";
import { readXgboostJsonModel } from "../../../lib/runtimes/xgboost/xgboost-json-model";
import { FIXTURES, temporaryFolder } from "./importer-test-files";

const files = temporaryFolder();
const importer = new XgboostJsonImporter();
// The fixtures are free-form JSON that each case below edits in one line; spelling out the type
// of every path it touches would say nothing the fixture does not.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type JsonDocument = Record<string, any>;

const IRIS_FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"];

function fixture(name: string): string {
	return path.join(FIXTURES, "xgboost", name);
}

/** A fixture's JSON, changed by `edit`, written to a temporary file. */
function edited(name: string, edit: (model: JsonDocument) => void): string {
	const model = JSON.parse(fs.readFileSync(fixture(name), "utf8"));
	edit(model);
	return files.file(`edited-${Math.random().toString(36).slice(2)}.json`, JSON.stringify(model));
}

async function importError(filePath: string): Promise<InvalidModelFileError> {
	const error = await importer.import(filePath).catch((e: unknown) => e);
	expect(error).toBeInstanceOf(InvalidModelFileError);
	return error as InvalidModelFileError;
}

describe("XgboostJsonImporter", () => {
	it("imports a binary:logistic model: feature names in, a probability out", async () => {
		const imported = await importer.import(fixture("iris-binary-logistic.json"));
		expect(imported.format).toBe("xgboost-json");
		expect(imported.schema).toEqual({
			inputs: [
				{
					name: "input",
					datatype: "FP32",
					shape: [-1, 4],
					features: IRIS_FEATURES.map(name => ({ name })),
				},
			],
			outputs: [{ name: "predict", datatype: "FP32", shape: [-1] }],
		});
		expect(imported.details).toEqual({
			objective: "binary:logistic",
			output: "probability of class 1",
			numFeatures: 4,
			numClasses: 2,
			numTargets: 1,
			numTrees: 10,
			baseScore: 0.5,
			booster: "gbtree",
			hasCategoricalSplits: false,
			xgboostVersion: "1.7.4",
		});
	});

	it("imports a multi:softprob model: one probability per class", async () => {
		const imported = await importer.import(fixture("iris-multi-softprob.json"));
		expect(imported.schema.outputs).toEqual([
			{ name: "predict", datatype: "FP32", shape: [-1, 3] },
		]);
		expect(imported.details).toMatchObject({
			objective: "multi:softprob",
			numFeatures: 4,
			numClasses: 3,
			numTrees: 30,
		});
	});

	it("imports a reg:squarederror model on three features", async () => {
		const imported = await importer.import(fixture("iris-reg-squarederror.json"));
		expect(imported.schema.inputs[0].shape).toEqual([-1, 3]);
		expect(imported.schema.inputs[0].features).toEqual(
			IRIS_FEATURES.slice(0, 3).map(name => ({ name })),
		);
		expect(imported.schema.outputs[0].shape).toEqual([-1]);
		expect(imported.details).toMatchObject({
			objective: "reg:squarederror",
			numClasses: 0,
			numTrees: 10,
			output: "predicted value",
		});
	});

	it("reads trees a walker can use: the fixture's first split and its leaves", () => {
		const model = readXgboostJsonModel(
			JSON.parse(fs.readFileSync(fixture("iris-binary-logistic.json"), "utf8")),
		);
		const tree = model.trees[0];
		expect(tree.leftChildren.length).toBe(tree.numNodes);
		expect(model.treeInfo).toEqual(new Array(10).fill(0));
		expect(typeof tree.defaultLeft[0]).toBe("boolean");
		// The root splits on a petal measurement (virginica vs the rest).
		expect(tree.splitIndices[0]).toBeGreaterThanOrEqual(2);
	});

	it("leaves features out when the model has no names", async () => {
		const imported = await importer.import(
			edited("iris-binary-logistic.json", m => (m.learner.feature_names = [])),
		);
		expect(imported.schema.inputs[0]).toEqual({
			name: "input",
			datatype: "FP32",
			shape: [-1, 4],
		});
	});

	it("shapes multi:softmax as a class index and reads a 3.x vector base_score", async () => {
		const imported = await importer.import(
			edited("iris-multi-softprob.json", m => {
				m.learner.objective.name = "multi:softmax";
				m.learner.learner_model_param.base_score = "[5E-1,2.5E-1,2.5E-1]";
			}),
		);
		expect(imported.schema.outputs[0].shape).toEqual([-1]);
		expect(imported.details.baseScore).toEqual([0.5, 0.25, 0.25]);
	});

	it("refuses truncated JSON with the parser's reason", async () => {
		const text = fs.readFileSync(fixture("iris-binary-logistic.json"), "utf8");
		const error = await importError(files.file("cut.json", text.slice(0, 3000)));
		expect(error.type).toBe("INVALID_MODEL_FILE");
		expect(error.message).toMatch(
			/^The file is not a valid XGBoost JSON model: not valid JSON: .+/,
		);
	});

	it.each([
		[
			"a tree with a child out of range",
			(m: JsonDocument) => (m.learner.gradient_booster.model.trees[1].left_children[0] = 99),
			/trees\[1\]: node 0 has child 99, outside 0…\d+/,
		],
		[
			"a tree with a cycle",
			(m: JsonDocument) => {
				const tree = m.learner.gradient_booster.model.trees[0];
				tree.left_children[1] = 0;
			},
			/trees\[0\]: node 0 is reached twice \(the tree has a cycle\)/,
		],
		[
			"a short array",
			(m: JsonDocument) => m.learner.gradient_booster.model.trees[2].split_conditions.pop(),
			/trees\[2\]\.split_conditions has \d+ entries but the tree has \d+ nodes/,
		],
		[
			"a split on a feature the model lacks",
			(m: JsonDocument) => {
				m.learner.learner_model_param.num_feature = "1";
				m.learner.feature_names = [];
			},
			/trees\[0\]: node 0 splits on feature \d, but the model has 1$/,
		],
		[
			"an unknown objective",
			(m: JsonDocument) => (m.learner.objective.name = "reg:magic"),
			/objective 'reg:magic' is not one modelfleet can run/,
		],
		[
			"a linear booster",
			(m: JsonDocument) => (m.learner.gradient_booster = { name: "gblinear", model: {} }),
			/booster 'gblinear' is not supported/,
		],
		[
			"a tree count that disagrees",
			(m: JsonDocument) => m.learner.gradient_booster.model.trees.pop(),
			/num_trees says 10 but 9 trees follow/,
		],
		[
			"no learner",
			(m: JsonDocument) => delete m.learner,
			/the document has no "learner" object/,
		],
	])("refuses %s, saying where", async (_, edit, reason) => {
		const error = await importError(edited("iris-binary-logistic.json", edit));
		expect(error.message).toMatch(reason);
	});
});
