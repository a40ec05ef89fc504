/**
 * Explanations, one row at a time:
 *
 * - TreeSHAP of a generated XGBoost-shaped ensemble of 50 full depth-6 trees over 30 features
 *   (random splits and covers from the seeded PRNG), `TreeShap.explain` on one row, timed per
 *   row over 500 rows after a warm-up; median and p99.
 * - KernelSHAP of the 64→128→10 MLP (models/mlp-model.ts) served through ServedModel with a
 *   2-thread RuntimePool (batches of 4096 rows and more split across its threads), the whole
 *   request path of `explainPrediction` (decode, plan, one batch through the queue and the
 *   pool, fit) for one row with nsamples 2048, against 10, 50 and 100 background rows (each
 *   coalition is evaluated on every background row: 2048 × N model rows); median of 7 runs.
 */
import type { ServedModel } from "../lib/predictor/served-model";
import { explainPrediction } from "../lib/explain/explain-model";
import { TreeShap } from "../lib/explain/tree-shap";
import { readXgboostJsonModel } from "../lib/runtimes/xgboost/xgboost-json-model";
import type { VersionView } from "../lib/registry/version-store";
import { RuntimePool } from "../lib/runtimes/pool/runtime-pool";
import { MLP_FEATURES, MLP_SCHEMA, writeBenchMlp } from "./models/mlp-model";
import { loadServedOnnx, writeTempModel } from "./support/bench-model";
import { seededRandom, uniformFloats, type Random } from "./support/prng";
import { fixed, median, percentile } from "./support/stats";

const TREE_FEATURES = 30;
const TREES = 50;
const DEPTH = 6;
const TREE_ROWS = 500;
const KERNEL_SAMPLES = 2048;
const KERNEL_RUNS = 7;

/** One full tree of DEPTH levels in XGBoost's JSON layout, covers split at random. */
function randomTree(random: Random): Record<string, unknown> {
	const nodes = 2 ** (DEPTH + 1) - 1;
	const left: number[] = [];
	const right: number[] = [];
	const feature: number[] = [];
	const condition: number[] = [];
	const cover: number[] = [];
	for (let n = 0; n < nodes; n++) {
		const leaf = n >= 2 ** DEPTH - 1;
		left.push(leaf ? -1 : 2 * n + 1);
		right.push(leaf ? -1 : 2 * n + 2);
		feature.push(leaf ? 0 : Math.floor(random() * TREE_FEATURES));
		condition.push(leaf ? random() - 0.5 : random() * 2 - 1);
		const parent = n === 0 ? 1000 : cover[(n - 1) >> 1];
		cover.push(n === 0 ? 1000 : n % 2 === 1 ? parent * (0.2 + 0.6 * random()) : 0);
		if (n > 0 && n % 2 === 0) cover[n] = parent - cover[n - 1];
	}
	return {
		tree_param: { num_nodes: String(nodes), size_leaf_vector: "0" },
		left_children: left,
		right_children: right,
		split_indices: feature,
		split_conditions: condition,
		default_left: left.map(() => (random() < 0.5 ? 1 : 0)),
		base_weights: condition,
		sum_hessian: cover,
	};
}

function benchForest(): TreeShap {
	const random = seededRandom(30);
	const trees = Array.from({ length: TREES }, () => randomTree(random));
	return TreeShap.fromModel(
		readXgboostJsonModel({
			version: [1, 7, 4],
			learner: {
				learner_model_param: { num_feature: String(TREE_FEATURES), base_score: "5E-1" },
				objective: { name: "binary:logistic" },
				gradient_booster: {
					name: "gbtree",
					model: {
						gbtree_model_param: { num_trees: String(TREES) },
						tree_info: trees.map(() => 0),
						trees,
					},
				},
			},
		}),
	);
}

function treeShapRows(): string {
	const shap = benchForest();
	const x = uniformFloats(seededRandom(31), TREE_ROWS * TREE_FEATURES, -1.2, 1.2);
	for (let r = 0; r < 100; r++)
		shap.explain(x.subarray(r * TREE_FEATURES, (r + 1) * TREE_FEATURES), 1);
	const times: number[] = [];
	for (let r = 0; r < TREE_ROWS; r++) {
		const row = x.subarray(r * TREE_FEATURES, (r + 1) * TREE_FEATURES);
		const started = performance.now();
		shap.explain(row, 1);
		times.push(performance.now() - started);
	}
	return `| TreeSHAP, ${TREE_FEATURES} features, ${TREES} trees of depth ${DEPTH} | 1 row | ${fixed(median(times), 3)} | ${fixed(percentile(times, 99), 3)} | ≤ 2 ms |`;
}

async function kernelShapRows(): Promise<string[]> {
	const pool = new RuntimePool({ threads: 2 });
	const served: ServedModel = await loadServedOnnx(
		"mlp-explain",
		writeTempModel("mlp-explain.onnx", writeBenchMlp()),
		MLP_SCHEMA,
		{ enabled: false },
		{ pool, poolMinRows: 4096 },
	);
	const version = {
		model: "mlp",
		version: "1.0.0",
		ref: "mlp@1.0.0",
		labels: null,
		lineage: {},
	} as unknown as VersionView;
	const random = seededRandom(64);
	const lines: string[] = [];
	try {
		for (const n of [10, 50, 100]) {
			const background = Array.from({ length: n }, () =>
				Array.from(uniformFloats(random, MLP_FEATURES, 0, 1)),
			);
			const row = Array.from(uniformFloats(random, MLP_FEATURES, 0, 1));
			const run = () =>
				explainPrediction(
					{
						model: served,
						version,
						loadDatasetRows: () => Promise.reject(new Error("unused")),
					},
					{ instances: [row], background, nsamples: KERNEL_SAMPLES },
				);
			await run();
			const times: number[] = [];
			for (let i = 0; i < KERNEL_RUNS; i++) {
				const started = performance.now();
				await run();
				times.push(performance.now() - started);
			}
			lines.push(
				`| KernelSHAP, ${MLP_FEATURES}-feature MLP, ${KERNEL_SAMPLES} samples, ${n} background rows (${KERNEL_SAMPLES * n} model rows), pool of 2 | 1 row | ${fixed(median(times), 1)} | ${fixed(Math.max(...times), 1)} (max) | ≤ 300 ms |`,
			);
		}
	} finally {
		await served.dispose();
		await pool.close();
	}
	return lines;
}

export async function runExplain(): Promise<string> {
	const header = [
		"| explanation | rows | median ms | p99 ms | target |",
		"| ----------- | ---: | --------: | -----: | ------ |",
	];
	return [...header, treeShapRows(), ...(await kernelShapRows())].join("\n");
}
