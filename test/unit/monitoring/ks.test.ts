import {
	kolmogorovSurvival,
	ksAgainstQuantiles,
	ksPValue,
	ksTwoSample,
	quantileCdf,
} from "../../../lib/monitoring/ks";

describe("Kolmogorov–Smirnov", () => {
	it("has the Kolmogorov distribution's survival function (scipy.special.kolmogorov)", () => {
		// scipy.special.kolmogorov(1.0), (0.5), (1.358) and (2.0).
		expect(kolmogorovSurvival(1)).toBeCloseTo(0.26999967167735456, 12);
		expect(kolmogorovSurvival(0.5)).toBeCloseTo(0.9639452436648751, 12);
		expect(kolmogorovSurvival(1.358)).toBeCloseTo(0.05004, 4);
		expect(kolmogorovSurvival(2)).toBeCloseTo(0.0006709252557796953, 12);
		expect(kolmogorovSurvival(0)).toBe(1);
	});

	it("finds the largest gap between two empirical CDFs (hand-checked cases)", () => {
		expect(ksTwoSample([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]).statistic).toBe(1);
		// ECDFs 1/3, 2/3, 1 and 0, 1/3, 2/3 at 1, 2, 3: every gap is 1/3.
		expect(ksTwoSample([1, 2, 3], [2, 3, 4]).statistic).toBeCloseTo(1 / 3, 15);
		// Ties step past every equal value of both samples: identical samples have no gap.
		expect(ksTwoSample([1, 1, 2, 2], [2, 1, 2, 1]).statistic).toBe(0);
		// 0.5 0.5 | 0.75 at 2: a = {1,1,2,3}, b = {2,2,3,3} → at 1: 0.5 − 0; at 2: 0.75 − 0.5.
		expect(ksTwoSample([1, 1, 2, 3], [2, 2, 3, 3]).statistic).toBe(0.5);
		// Missing values are left out.
		expect(ksTwoSample([1, NaN, 2, 3], [2, 3, 4]).statistic).toBeCloseTo(1 / 3, 15);
	});

	it("gives the asymptotic p-value with Stephens' correction, n·m/(n+m) as the sample size", () => {
		const { statistic, pValue } = ksTwoSample([1, 2, 3], [2, 3, 4]);
		const en = (3 * 3) / 6;
		const lambda = (Math.sqrt(en) + 0.12 + 0.11 / Math.sqrt(en)) * statistic;
		expect(pValue).toBeCloseTo(kolmogorovSurvival(lambda), 15);
		// D = 0.1 on 1000 × 1000 rows: λ = (√500 + 0.12 + 0.11/√500)·0.1 ≈ 2.2485,
		// p ≈ 2·e^(−2λ²) ≈ 8.1e-5 — a real shift.
		expect(ksPValue(0.1, 500)).toBeGreaterThan(8.0e-5);
		expect(ksPValue(0.1, 500)).toBeLessThan(8.2e-5);
		expect(ksPValue(0.02, 500)).toBeGreaterThan(0.9);
	});

	it("measures a window against a baseline kept as quantiles", () => {
		const uniform = Array.from({ length: 101 }, (_, k) => k / 100);
		expect(quantileCdf(uniform, 0.25)).toBeCloseTo(0.25, 12);
		expect(quantileCdf(uniform, -1)).toBe(0);
		expect(quantileCdf(uniform, 2)).toBe(1);
		// A window of evenly spaced values over [0, 1] sits on the uniform CDF: the gap is one step.
		const window = Array.from({ length: 100 }, (_, i) => (i + 0.5) / 100);
		expect(ksAgainstQuantiles(window, uniform, 10_000).statistic).toBeCloseTo(0.005, 10);
		// A discrete feature: 40 % zeros, 60 % ones. A window with the same shares has no gap.
		const binary = Array.from({ length: 101 }, (_, k) => (k <= 40 ? 0 : 1));
		const same = [...new Array<number>(40).fill(0), ...new Array<number>(60).fill(1)];
		expect(ksAgainstQuantiles(same, binary, 10_000).statistic).toBeLessThan(0.02);
		const flipped = [...new Array<number>(60).fill(0), ...new Array<number>(40).fill(1)];
		expect(ksAgainstQuantiles(flipped, binary, 10_000).statistic).toBeGreaterThan(0.18);
		// All of a window above the baseline's top: the gap is 1.
		expect(ksAgainstQuantiles([5, 6, 7], uniform, 10_000).statistic).toBe(1);
	});
});
