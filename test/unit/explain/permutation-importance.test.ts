/**
 * Permutation importance where the answer is known: a linear model y = x·w (through the ONNX
 * runtime) on features of equal spread, where a feature with weight 0 scores exactly 0 and
 * the others rank by |w|; a classifier that looks at one feature only; one-hot blocks shuffled
 * together; seeded (same seed, same answer).
 */
import { SeededRandom } from "../../../lib/datasets/seeded-random";
import {
	importanceScore,
	permutationImportance,
	predictedClasses,
	type RowMajor,
} from "../../../lib/explain/permutation-importance";
import { evaluate, loadOnnx, uniform, writeLinearModel } from "./explain-models";

const W = Float32Array.of(3, 0, -1, 0.5, 2);

async function linearCase(metric: "rmse" | "mae", seed = 1) {
	const model = await loadOnnx(writeLinearModel(W, 0.25));
	try {
		const rows = 400;
		const m = W.length;
		const x = uniform(new SeededRandom(11), rows * m, -1, 1);
		const truth = await evaluate(model, x, m);
		return await permutationImportance({
			x,
			rows,
			width: m,
			truth,
			metric,
			features: ["a", "zero", "c", "d", "e"].map((name, c) => ({ name, columns: [c] })),
			predict: (batch, n) =>
				evaluate(model, batch as Float32Array, m).then(y => y.subarray(0, n)),
			repeats: 4,
			seed,
		});
	} finally {
		await model.dispose();
	}
}

describe("permutationImportance", () => {
	it("gives a feature the linear model ignores exactly 0, and ranks the rest by |w|", async () => {
		for (const metric of ["rmse", "mae"] as const) {
			const result = await linearCase(metric);
			expect(result.baseline).toBeLessThan(1e-5);
			expect(result.higherIsBetter).toBe(false);
			const byName = Object.fromEntries(result.features.map(f => [f.name, f]));
			expect(byName.zero.importance).toBe(0);
			expect(byName.zero.std).toBe(0);
			expect(byName.zero.drops).toEqual([0, 0, 0, 0]);
			expect(result.ranking).toEqual(["a", "e", "c", "d", "zero"]);
			for (const f of result.features) {
				expect(f.drops).toHaveLength(4);
				if (f.name !== "zero") expect(f.importance).toBeGreaterThan(0);
			}
			// Shuffling x_j of spread U(-1, 1) adds w_j·(x_j − x_π(j)): an RMSE of |w_j|·√(2/3).
			if (metric === "rmse") expect(byName.a.importance).toBeCloseTo(3 * Math.sqrt(2 / 3), 0);
		}
	});

	it("is seeded: the same seed gives the same drops, another seed other drops", async () => {
		const one = await linearCase("rmse", 5);
		const again = await linearCase("rmse", 5);
		const other = await linearCase("rmse", 6);
		expect(again.features).toEqual(one.features);
		expect(other.features[0].drops).not.toEqual(one.features[0].drops);
	});

	it("scores a classifier by accuracy: only the feature it reads matters", async () => {
		const rows = 300;
		const random = new SeededRandom(3);
		const x = uniform(random, rows * 3, -1, 1);
		const classify = (batch: RowMajor<number>, n: number) => {
			const out = new Int32Array(n);
			for (let r = 0; r < n; r++) out[r] = batch[r * 3 + 1] > 0 ? 1 : 0;
			return Promise.resolve(out);
		};
		const truth = await classify(x, rows);
		const result = await permutationImportance({
			x,
			rows,
			width: 3,
			truth,
			metric: "accuracy",
			predict: classify,
			repeats: 3,
		});
		expect(result.baseline).toBe(1);
		expect(result.higherIsBetter).toBe(true);
		expect(result.features.map(f => f.name)).toEqual(["f0", "f1", "f2"]);
		expect(result.features[0].importance).toBe(0);
		expect(result.features[2].importance).toBe(0);
		// A shuffled sign agrees about half the time: accuracy drops by about 0.5.
		expect(result.features[1].importance).toBeGreaterThan(0.35);
		expect(result.features[1].importance).toBeLessThan(0.65);
		expect(result.ranking[0]).toBe("f1");
	});

	it("shuffles a feature's columns together (a one-hot block keeps its rows whole)", async () => {
		// Columns 0–1 are a one-hot pair; a row with both set would show the block was split.
		const rows = 200;
		const x = new Float32Array(rows * 3);
		for (let r = 0; r < rows; r++) {
			x[r * 3 + (r % 2)] = 1;
			x[r * 3 + 2] = r;
		}
		const seen: RowMajor<number>[] = [];
		await permutationImportance({
			x,
			rows,
			width: 3,
			truth: new Float64Array(rows),
			metric: "mae",
			features: [
				{ name: "colour", columns: [0, 1] },
				{ name: "n", columns: [2] },
			],
			predict: (batch, n) => {
				seen.push(batch);
				return Promise.resolve(new Float64Array(n));
			},
			repeats: 2,
		});
		const colour = seen[1];
		expect(colour.length).toBe(2 * rows * 3);
		for (let r = 0; r < 2 * rows; r++) expect(colour[r * 3] + colour[r * 3 + 1]).toBe(1);
		// The other column stayed in place for the colour shuffle.
		for (let r = 0; r < rows; r++) expect(colour[r * 3 + 2]).toBe(r);
	});

	it("shuffles cells of any kind (string features)", async () => {
		const x = ["a", "1", "b", "2", "a", "3", "b", "4"];
		const result = await permutationImportance({
			x,
			rows: 4,
			width: 2,
			truth: [1, 0, 1, 0],
			metric: "accuracy",
			predict: (batch, n) =>
				Promise.resolve(
					Array.from({ length: n }, (_, r) => (batch[r * 2] === "a" ? 1 : 0)),
				),
			repeats: 3,
			seed: 2,
		});
		expect(result.baseline).toBe(1);
		expect(result.features[1].importance).toBe(0);
	});

	it("scores and classifies as documented", () => {
		expect(importanceScore("accuracy", [0, 1, 2], [0, 1, 1])).toBeCloseTo(2 / 3);
		expect(importanceScore("mae", [0, 0], [1, -3])).toBe(2);
		expect(importanceScore("rmse", [0, 0], [3, 4])).toBeCloseTo(Math.sqrt(12.5));
		expect(Array.from(predictedClasses([0.1, 0.7, 0.2, 0.5, 0.4, 0.1], 2))).toEqual([1, 0]);
		expect(Array.from(predictedClasses([0.2, 0.9], 2))).toEqual([0, 1]);
	});
});
