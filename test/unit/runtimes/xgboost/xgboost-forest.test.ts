import * as fs from "node:fs";
import {
	readXgboostJsonModel,
	type XgboostJsonModel,
} from "../../../../lib/runtimes/xgboost/xgboost-json-model";
import {
	compileXgboostForest,
	unsupportedXgboostFeature,
	XgboostForest,
} from "../../../../lib/runtimes/xgboost/xgboost-forest";
import { maxAbsoluteError, rowsAsFloat32, xgboostFixture } from "../runtime-test-support";

const FIXTURES = ["iris-binary-logistic", "iris-multi-softprob", "iris-reg-squarederror"] as const;

function model(name: string, edit?: (document: Record<string, unknown>) => void) {
	const document = JSON.parse(fs.readFileSync(xgboostFixture(name).modelPath, "utf8"));
	edit?.(document);
	return readXgboostJsonModel(document);
}

/** A one-tree model on one feature, written as XGBoost 2.x saves it. */
function stumpModel(tree: Record<string, unknown>, numNodes: number): XgboostJsonModel {
	return readXgboostJsonModel({
		version: [2, 1, 0],
		learner: {
			learner_model_param: { base_score: "0", num_class: "0", num_feature: "2" },
			objective: { name: "reg:squarederror" },
			gradient_booster: {
				name: "gbtree",
				model: {
					gbtree_model_param: { num_trees: "1" },
					tree_info: [0],
					trees: [
						{
							tree_param: { num_nodes: String(numNodes), size_leaf_vector: "1" },
							base_weights: new Array(numNodes).fill(0),
							...tree,
						},
					],
				},
			},
		},
	});
}

describe("XgboostForest", () => {
	it.each(FIXTURES)("gives XGBoost's own margins and predictions for %s", name => {
		const fixture = xgboostFixture(name);
		const forest = XgboostForest.fromModel(model(name));
		const x = rowsAsFloat32(fixture.rows);
		const rows = fixture.rows.length;
		expect(fixture.rows.some(row => row.includes(null))).toBe(true);
		// Float32 sums in tree order: the margins come out bit for bit.
		expect(maxAbsoluteError(forest.margins(x, rows), fixture.margins.flat())).toBe(0);
		expect(maxAbsoluteError(forest.predict(x, rows), fixture.predictions.flat())).toBeLessThan(
			1e-6,
		);
	});

	it("takes each split's default direction for a missing value", () => {
		// Node 0: feature 0 < 1 → node 1 (leaf 10), else node 2 (leaf 20); missing goes right.
		const tree = {
			left_children: [1, -1, -1],
			right_children: [2, -1, -1],
			split_indices: [0, 0, 0],
			split_conditions: [1, 10, 20],
			default_left: [0, 0, 0],
		};
		const right = XgboostForest.fromModel(stumpModel(tree, 3));
		const left = XgboostForest.fromModel(stumpModel({ ...tree, default_left: [1, 0, 0] }, 3));
		const x = Float32Array.from([0.5, 0, 1, 0, NaN, 0]);
		expect([...right.predict(x, 3)]).toEqual([10, 20, 20]);
		expect([...left.predict(x, 3)]).toEqual([10, 20, 10]);
	});

	it("sends the listed categories of a categorical split right, others and invalid ones left", () => {
		const forest = XgboostForest.fromModel(
			stumpModel(
				{
					left_children: [1, -1, -1],
					right_children: [2, -1, -1],
					split_indices: [1, 0, 0],
					split_conditions: [0, -1, 1],
					default_left: [1, 0, 0],
					split_type: [1, 0, 0],
					categories: [2, 5],
					categories_nodes: [0],
					categories_segments: [0],
					categories_sizes: [2],
				},
				3,
			),
		);
		const categories = [0, 2, 3, 5, 5.7, -2, 1e9, NaN];
		const x = Float32Array.from(categories.flatMap(c => [0, c]));
		expect([...forest.predict(x, categories.length)]).toEqual([-1, 1, -1, 1, 1, -1, -1, -1]);
	});

	it("gives multi:softmax the first most likely class", () => {
		const fixture = xgboostFixture("iris-multi-softprob");
		const softmax = XgboostForest.fromModel(
			model("iris-multi-softprob", document => {
				(document as { learner: { objective: { name: string } } }).learner.objective.name =
					"multi:softmax";
			}),
		);
		const expected = (fixture.predictions as number[][]).map(p => p.indexOf(Math.max(...p)));
		const x = rowsAsFloat32(fixture.rows);
		expect([...softmax.predict(x, fixture.rows.length)]).toEqual(expected);
	});

	it.each([
		["binary:logitraw", (m: number) => m],
		["reg:logistic", (m: number) => 1 / (1 + Math.exp(-m))],
		["count:poisson", (m: number) => Math.exp(m)],
		["binary:hinge", (m: number) => (m > 0 ? 1 : 0)],
	])("applies the output transform of %s to the margins", (objective, transform) => {
		const fixture = xgboostFixture("iris-binary-logistic");
		const edited = model("iris-binary-logistic", document => {
			(document as { learner: { objective: { name: string } } }).learner.objective.name =
				objective;
		});
		const forest = XgboostForest.fromModel(edited);
		const x = rowsAsFloat32(fixture.rows);
		const margins = forest.margins(x, fixture.rows.length);
		const expected = Array.from(margins, transform);
		expect(maxAbsoluteError(forest.predict(x, fixture.rows.length), expected)).toBeLessThan(
			1e-6,
		);
	});

	it("starts from base_score through the objective's link", () => {
		const withBase = (objective: string, baseScore: string) =>
			XgboostForest.fromModel(
				model("iris-binary-logistic", document => {
					const learner = (
						document as { learner: Record<string, Record<string, unknown>> }
					).learner;
					learner.objective.name = objective;
					learner.learner_model_param.base_score = baseScore;
				}),
			);
		const x = Float32Array.from([5.1, 3.5, 1.4, 0.2]);
		const zero = withBase("binary:logistic", "5E-1").margins(x, 1)[0];
		// logit(0.8) = ln 4; log(2) for count:poisson; the margin itself for regression.
		expect(withBase("binary:logistic", "8E-1").margins(x, 1)[0] - zero).toBeCloseTo(
			Math.log(4),
			6,
		);
		expect(withBase("count:poisson", "2E0").margins(x, 1)[0] - zero).toBeCloseTo(
			Math.log(2),
			6,
		);
		expect(withBase("reg:squarederror", "1.5E0").margins(x, 1)[0] - zero).toBeCloseTo(1.5, 6);
	});

	it("weights each dart tree's leaves by its weight_drop", () => {
		const gbtree = model("iris-reg-squarederror");
		const dart: XgboostJsonModel = {
			...gbtree,
			booster: "dart",
			weightDrop: gbtree.trees.map((_, t) => (t % 2 === 0 ? 1 : 0)),
		};
		const firstHalf: XgboostJsonModel = {
			...gbtree,
			trees: gbtree.trees.filter((_, t) => t % 2 === 0),
			treeInfo: gbtree.treeInfo.filter((_, t) => t % 2 === 0),
		};
		const x = rowsAsFloat32(xgboostFixture("iris-reg-squarederror").rows);
		const rows = x.length / 3;
		expect([...XgboostForest.fromModel(dart).predict(x, rows)]).toEqual([
			...XgboostForest.fromModel(firstHalf).predict(x, rows),
		]);
	});

	it("runs from arrays that crossed a thread boundary (structured clone)", () => {
		const arrays = compileXgboostForest(model("iris-multi-softprob"));
		const fixture = xgboostFixture("iris-multi-softprob");
		const x = rowsAsFloat32(fixture.rows);
		const cloned = new XgboostForest(structuredClone(arrays));
		expect([...cloned.predict(x, fixture.rows.length)]).toEqual([
			...new XgboostForest(arrays).predict(x, fixture.rows.length),
		]);
		expect(cloned.byteLength).toBeGreaterThan(0);
	});

	it("names what it cannot run: vector-leaf trees", () => {
		const vectorLeaf = model("iris-reg-squarederror");
		vectorLeaf.trees[0] = {
			...vectorLeaf.trees[0],
			baseWeights: [...vectorLeaf.trees[0].baseWeights, 0],
		};
		expect(unsupportedXgboostFeature(vectorLeaf)).toMatch(/vector leaves/);
		expect(() => compileXgboostForest(vectorLeaf)).toThrow(TypeError);
	});

	it("refuses input that is not rows × features", () => {
		const forest = XgboostForest.fromModel(model("iris-reg-squarederror"));
		expect(() => forest.predict(new Float32Array(7), 2)).toThrow(RangeError);
	});
});
