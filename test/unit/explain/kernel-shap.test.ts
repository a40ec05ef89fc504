/**
 * KernelSHAP through a real ONNX runtime: exact for a linear model (enumerated and sampled),
 * and on a nonlinear 8-feature MLP against Shapley values computed by enumerating all 2^8
 * coalitions with the same background expectation.
 */
import { SeededRandom } from "../../../lib/datasets/seeded-random";
import {
	kernelShapBatch,
	kernelShapResults,
	planKernelShap,
} from "../../../lib/explain/kernel-batch";
import { binomial, kernelWeight, planCoalitions } from "../../../lib/explain/kernel-shap";
import { constrainedLeastSquares, solveInPlace } from "../../../lib/explain/linear-algebra";
import type { LoadedModel } from "../../../lib/runtimes/model-runtime";
import { evaluate, loadOnnx, uniform, writeLinearModel, writeTanhMlp } from "./explain-models";

async function kernelShap(
	model: LoadedModel,
	x: Float32Array,
	background: Float32Array,
	m: number,
	outputs: number,
	nsamples: number,
) {
	const job = planKernelShap(x, background, x.length / m, m, { nsamples, seed: 7 });
	const batch = kernelShapBatch(job) as Float32Array;
	expect(batch.length).toBe(job.batchRows * m);
	const y = await evaluate(model, batch, m);
	return kernelShapResults(
		job,
		y,
		outputs,
		Array.from({ length: outputs }, (_, k) => k),
	);
}

describe("linear algebra", () => {
	it("solves a system with pivoting and refuses a singular one", () => {
		const a = Float64Array.of(0, 2, 1, 1);
		const b = Float64Array.of(4, 3);
		expect(solveInPlace(a, b, 2)).toBe(true);
		expect(Array.from(b)).toEqual([1, 2]);
		expect(solveInPlace(Float64Array.of(1, 2, 2, 4), Float64Array.of(1, 2), 2)).toBe(false);
	});

	it("fits under the sum constraint", () => {
		// Minimise (φ0 − 1)² + (φ1 − 1)² with φ0 + φ1 = 4: φ = (2, 2).
		const phi = constrainedLeastSquares(
			Float64Array.of(1, 0, 0, 1),
			Float64Array.of(1, 1),
			2,
			4,
		);
		expect(phi[0]).toBeCloseTo(2, 12);
		expect(phi[1]).toBeCloseTo(2, 12);
	});
});

describe("coalitions", () => {
	it("enumerates every coalition with the Shapley kernel's weight when the budget allows", () => {
		const plan = planCoalitions(4, 14);
		expect(plan.exact).toBe(true);
		expect(plan.count).toBe(14);
		expect(plan.weights[0]).toBeCloseTo(kernelWeight(4, 1), 15);
		expect(kernelWeight(4, 2)).toBeCloseTo(3 / (binomial(4, 2) * 4), 15);
	});

	it("samples within the budget, the same coalitions for the same seed", () => {
		const a = planCoalitions(30, 500, 3);
		const b = planCoalitions(30, 500, 3);
		expect(a.exact).toBe(false);
		expect(a.count).toBeLessThanOrEqual(500);
		expect(a.count).toBeGreaterThan(450);
		expect(Buffer.from(a.masks).equals(Buffer.from(b.masks))).toBe(true);
		// Sizes 1 and 29 (30 + 30 coalitions) fit whole; every coalition has 1 … 29 members.
		for (let s = 0; s < a.count; s++) {
			const size = a.masks.subarray(s * 30, (s + 1) * 30).reduce((n, v) => n + v, 0);
			expect(size).toBeGreaterThan(0);
			expect(size).toBeLessThan(30);
		}
	});
});

describe("KernelSHAP on a linear ONNX model", () => {
	it.each([
		[10, 2048, true],
		[40, 600, false],
	])("equals w·(x − E[x]) within 1e-4 (%i features, %i samples)", async (m, nsamples, exact) => {
		const random = new SeededRandom(m);
		const w = uniform(random, m, -2, 2);
		const model = await loadOnnx(writeLinearModel(w, 0.25));
		try {
			const rows = 3;
			const x = uniform(random, rows * m, -3, 3);
			const background = uniform(random, 50 * m, -1, 2);
			const result = await kernelShap(model, x, background, m, 1, nsamples);
			let worst = 0;
			for (let r = 0; r < rows; r++) {
				expect(result.rows[r].exact).toBe(exact);
				for (let j = 0; j < m; j++) {
					let mean = 0;
					for (let b = 0; b < 50; b++) mean += background[b * m + j];
					const want = w[j] * (x[r * m + j] - mean / 50);
					worst = Math.max(worst, Math.abs(result.rows[r].contributions[j] - want));
				}
			}
			expect(worst).toBeLessThan(1e-4);
		} finally {
			await model.dispose();
		}
	});
});

describe("KernelSHAP on a nonlinear 8-feature MLP", () => {
	const M = 8;
	const CLASSES = 3;
	const N = 40;

	/** Shapley values by enumeration: v(S) = mean over the background of f(x_S, b_rest). */
	async function exactShapley(model: LoadedModel, x: Float32Array, background: Float32Array) {
		const batch = new Float32Array(2 ** M * N * M);
		for (let mask = 0; mask < 2 ** M; mask++)
			for (let b = 0; b < N; b++)
				for (let j = 0; j < M; j++)
					batch[(mask * N + b) * M + j] = (mask >> j) & 1 ? x[j] : background[b * M + j];
		const y = await evaluate(model, batch, M);
		const v = new Float64Array(2 ** M * CLASSES);
		for (let mask = 0; mask < 2 ** M; mask++)
			for (let b = 0; b < N; b++)
				for (let c = 0; c < CLASSES; c++)
					v[mask * CLASSES + c] += y[(mask * N + b) * CLASSES + c] / N;
		const factorial = (n: number): number => (n <= 1 ? 1 : n * factorial(n - 1));
		const phi = new Float64Array(CLASSES * M);
		for (let j = 0; j < M; j++)
			for (let mask = 0; mask < 2 ** M; mask++) {
				if ((mask >> j) & 1) continue;
				let size = 0;
				for (let i = 0; i < M; i++) size += (mask >> i) & 1;
				const weight = (factorial(size) * factorial(M - size - 1)) / factorial(M);
				for (let c = 0; c < CLASSES; c++)
					phi[c * M + j] +=
						weight * (v[(mask | (1 << j)) * CLASSES + c] - v[mask * CLASSES + c]);
			}
		return phi;
	}

	const top3 = (values: ArrayLike<number>) =>
		Array.from(values, (v, j) => [Math.abs(v), j])
			.sort((a, b) => b[0] - a[0])
			.slice(0, 3)
			.map(([, j]) => j);

	it.each([
		[2048, true],
		[200, false],
	])(
		"with %i samples: efficiency gap < 1e-4; against Shapley values from all 2^8 coalitions, enumerated: within 1e-5 and the same top 3, sampled: within 0.02 and the same top feature",
		async (nsamples, exact) => {
			const model = await loadOnnx(writeTanhMlp(M, 16, CLASSES, 5));
			try {
				const random = new SeededRandom(11);
				const background = uniform(random, N * M, -1, 1);
				for (let trial = 0; trial < 4; trial++) {
					const x = uniform(random, M, -2, 2);
					const result = await kernelShap(model, x, background, M, CLASSES, nsamples);
					const row = result.rows[0];
					expect(row.exact).toBe(exact);
					const phi = await exactShapley(model, x, background);
					for (let c = 0; c < CLASSES; c++) {
						const mine = row.contributions.subarray(c * M, (c + 1) * M);
						const sum = mine.reduce((a, b) => a + b, 0);
						expect(Math.abs(sum - (row.output[c] - result.base[c]))).toBeLessThan(1e-4);
						const want = phi.subarray(c * M, (c + 1) * M);
						if (exact) {
							expect(top3(mine)).toEqual(top3(want));
							for (let j = 0; j < M; j++)
								expect(Math.abs(mine[j] - want[j])).toBeLessThan(1e-5);
						} else {
							// Sampled: close values may swap places; the strongest stays first.
							expect(top3(mine)[0]).toBe(top3(want)[0]);
							for (let j = 0; j < M; j++)
								expect(Math.abs(mine[j] - want[j])).toBeLessThan(0.02);
						}
					}
				}
			} finally {
				await model.dispose();
			}
		},
	);

	it("gives 0 to a feature x shares with every background row, and its share to the rest", async () => {
		const model = await loadOnnx(writeTanhMlp(M, 16, CLASSES, 5));
		try {
			const random = new SeededRandom(12);
			const background = uniform(random, N * M, -1, 1);
			for (let b = 0; b < N; b++) background[b * M + 3] = 0.5;
			const x = uniform(random, M, -2, 2);
			x[3] = 0.5;
			const result = await kernelShap(model, x, background, M, CLASSES, 2048);
			const row = result.rows[0];
			const phi = await exactShapley(model, x, background);
			for (let c = 0; c < CLASSES; c++) {
				expect(row.contributions[c * M + 3]).toBe(0);
				for (let j = 0; j < M; j++)
					expect(Math.abs(row.contributions[c * M + j] - phi[c * M + j])).toBeLessThan(
						1e-5,
					);
			}
		} finally {
			await model.dispose();
		}
	});
});
