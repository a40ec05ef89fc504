/**
 * TreeSHAP against XGBoost's own pred_contribs, on the fixtures scripts/fixtures/
 * make_xgboost_shap_fixtures.py made with Debian's python3-xgboost (100 rows each, some values
 * missing, one row all missing).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { TreeShap } from "../../../lib/explain/tree-shap";
import { readXgboostJsonModel } from "../../../lib/runtimes/xgboost/xgboost-json-model";
import { XgboostForest } from "../../../lib/runtimes/xgboost/xgboost-forest";

const DIR = path.join(__dirname, "..", "..", "fixtures", "xgboost", "shap");

interface Fixture {
	model: string;
	objective: string;
	features: string[];
	rows: (number | null)[][];
	margins: number[][];
	contributions: number[][][];
}

function load(name: string) {
	const fixture = JSON.parse(
		fs.readFileSync(path.join(DIR, `${name}.contribs.json`), "utf8"),
	) as Fixture;
	const model = readXgboostJsonModel(
		JSON.parse(fs.readFileSync(path.join(DIR, fixture.model), "utf8")),
	);
	const x = Float32Array.from(fixture.rows.flat(), v => (v === null ? NaN : v));
	return { fixture, model, x, rows: fixture.rows.length };
}

describe.each([
	["shap-binary-logistic", 1],
	["shap-multi-softprob", 3],
	["shap-reg-squarederror", 1],
])("TreeSHAP on %s", (name, groups) => {
	const { fixture, model, x, rows } = load(name);
	const shap = TreeShap.fromModel(model);
	const values = shap.explain(x, rows);
	const width = fixture.features.length + 1;

	it("has 100 rows with missing values, and the groups the objective makes", () => {
		expect(rows).toBe(100);
		expect(fixture.rows.some(row => row.includes(null))).toBe(true);
		expect(shap.numGroups).toBe(groups);
		expect(values.length).toBe(rows * groups * width);
	});

	it("equals XGBoost's pred_contribs within 1e-5, bias included", () => {
		let worst = 0;
		for (let r = 0; r < rows; r++)
			for (let g = 0; g < groups; g++)
				for (let j = 0; j < width; j++)
					worst = Math.max(
						worst,
						Math.abs(
							values[(r * groups + g) * width + j] - fixture.contributions[r][g][j],
						),
					);
		expect(worst).toBeLessThan(1e-5);
	});

	it("adds up, per row and group, to the margin of XGBoost and of the tree walker", () => {
		const walker = XgboostForest.fromModel(model).margins(x, rows);
		const own = shap.margins(x, rows);
		let worst = 0;
		for (let r = 0; r < rows; r++)
			for (let g = 0; g < groups; g++) {
				let sum = 0;
				for (let j = 0; j < width; j++) sum += values[(r * groups + g) * width + j];
				worst = Math.max(
					worst,
					Math.abs(sum - fixture.margins[r][g]),
					Math.abs(sum - walker[r * groups + g]),
				);
				expect(own[r * groups + g]).toBe(walker[r * groups + g]);
			}
		expect(worst).toBeLessThan(1e-5);
	});
});

describe("TreeSHAP by hand", () => {
	/** One split on feature 0 at 0.5 (covers 3 left, 1 right), leaves 1 and 5, missing goes right. */
	const stump = readXgboostJsonModel({
		version: [1, 7, 4],
		learner: {
			learner_model_param: { num_feature: "2", num_class: "0", base_score: "5E-1" },
			objective: { name: "reg:squarederror" },
			gradient_booster: {
				name: "gbtree",
				model: {
					gbtree_model_param: { num_trees: "1" },
					tree_info: [0],
					trees: [
						{
							tree_param: { num_nodes: "3", size_leaf_vector: "0" },
							left_children: [1, -1, -1],
							right_children: [2, -1, -1],
							split_indices: [0, 0, 0],
							split_conditions: [0.5, 1, 5],
							default_left: [0, 0, 0],
							base_weights: [0, 1, 5],
							sum_hessian: [4, 3, 1],
						},
					],
				},
			},
		},
	});

	it("gives the split feature the leaf's distance from the cover-weighted mean", () => {
		const shap = TreeShap.fromModel(stump);
		// Mean leaf value: (3·1 + 1·5) / 4 = 2; bias = base 0.5 + 2.
		expect(Array.from(shap.explain([0, 7], 1))).toEqual([1 - 2, 0, 2.5]);
		expect(Array.from(shap.explain([1, 7], 1))).toEqual([5 - 2, 0, 2.5]);
		expect(Array.from(shap.explain([NaN, 7], 1))).toEqual([5 - 2, 0, 2.5]);
	});

	it("refuses a model without covers, naming sum_hessian", () => {
		const bare = { ...stump, trees: [{ ...stump.trees[0], sumHessian: [] }] };
		expect(() => TreeShap.fromModel(bare)).toThrow(/sum_hessian/);
	});
});
