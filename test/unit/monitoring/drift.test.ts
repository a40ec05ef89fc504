import { SeededRandom } from "../../../lib/datasets/seeded-random";
import {
	baselineFromReport,
	normalQuantile,
	quantilesOf,
	type DriftBaseline,
} from "../../../lib/monitoring/baseline";
import { driftOf, type FeatureValues } from "../../../lib/monitoring/drift";
import { binsFromQuantiles, categoricalPsi, countNumeric, psi } from "../../../lib/monitoring/psi";
import type { DatasetReport } from "../../../lib/datasets/dataset-report";

/** Box–Muller normals from a seeded generator. */
function normals(random: SeededRandom, n: number, mean = 0, std = 1): number[] {
	const out: number[] = [];
	while (out.length < n) {
		const u = 1 - random.next();
		const v = random.next();
		out.push(mean + std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v));
	}
	return out;
}

const FEATURES = ["f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7"];
const MEANS = [0, 5, -3, 10, 0.5, 100, -20, 2];
const STDS = [1, 2, 0.5, 3, 1, 15, 4, 0.1];

/** A training set's report with every percentile kept, as dataset uploads make it. */
function trainingBaseline(random: SeededRandom, rows = 5000): DriftBaseline {
	const report: DatasetReport = {
		sha256: "0".repeat(64),
		bytes: 0,
		rows,
		label: null,
		warnings: [],
		columns: FEATURES.map((name, i) => {
			const values = normals(random, rows, MEANS[i], STDS[i]).sort((a, b) => a - b);
			return {
				name,
				type: "numeric",
				missing: 0,
				min: values[0],
				max: values[rows - 1],
				mean: MEANS[i],
				std: STDS[i],
				distinct: null,
				quantiles: quantilesOf(values),
			};
		}),
	};
	return baselineFromReport(report, FEATURES, "dataset train@1");
}

function windowOf(random: SeededRandom, rows: number, shift: Record<string, number> = {}) {
	const features = new Map<string, FeatureValues>(
		FEATURES.map((name, i) => [
			name,
			{
				kind: "numeric",
				values: normals(random, rows, MEANS[i] + (shift[name] ?? 0) * STDS[i], STDS[i]),
			},
		]),
	);
	return { rows, features, predictions: null };
}

describe("PSI", () => {
	it("is zero for a window shaped like the baseline and grows with the shift", () => {
		expect(psi([0.5, 0.5], [50, 50])).toBe(0);
		// (0.7 − 0.5) ln(0.7/0.5) + (0.3 − 0.5) ln(0.3/0.5)
		expect(psi([0.5, 0.5], [70, 30])).toBeCloseTo(
			0.2 * Math.log(1.4) - 0.2 * Math.log(0.6),
			12,
		);
		expect(psi([0.5, 0.5], [0, 0])).toBe(0);
	});

	it("bins at the baseline's deciles and merges repeated values", () => {
		const uniform = Array.from({ length: 101 }, (_, k) => k);
		const bins = binsFromQuantiles(uniform);
		expect(bins.edges).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90]);
		bins.shares.forEach(share => expect(share).toBeCloseTo(0.1, 12));
		expect(countNumeric(bins, [0, 10, 10.5, 95, NaN])).toEqual([2, 1, 0, 0, 0, 0, 0, 0, 0, 1]);
		// A 0/1 feature, 70 % zeros: two bins with the baseline's shares.
		const binary = Array.from({ length: 101 }, (_, k) => (k < 70 ? 0 : 1));
		const merged = binsFromQuantiles(binary);
		expect(merged.edges).toEqual([0, 1]);
		expect(merged.shares[0]).toBeCloseTo(0.69, 2);
		expect(merged.shares.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
	});

	it("counts categories the baseline never had as a shift", () => {
		const baseline = new Map([
			["red", 0.5],
			["blue", 0.5],
		]);
		expect(categoricalPsi(baseline, ["red", "blue", "red", "blue", null])).toBe(0);
		expect(categoricalPsi(baseline, ["green", "green", "red", "blue"])).toBeGreaterThan(1);
	});
});

describe("driftOf", () => {
	it("flags at most 1 of 20 windows drawn from the training distribution", () => {
		const random = new SeededRandom(16);
		const baseline = trainingBaseline(random);
		let flagged = 0;
		for (let w = 0; w < 20; w++) {
			const report = driftOf(baseline, windowOf(random, 500));
			if (report.status === "drift") flagged++;
		}
		expect(flagged).toBeLessThanOrEqual(1);
	});

	it("flags a 1-std shift of 3 features in the first window, those 3 ranked top", () => {
		const random = new SeededRandom(7);
		const baseline = trainingBaseline(random);
		const shifted = { f1: 1, f4: -1, f6: 1 };
		const report = driftOf(baseline, windowOf(random, 500, shifted));
		expect(report.status).toBe("drift");
		expect(
			report.features
				.slice(0, 3)
				.map(f => f.name)
				.sort(),
		).toEqual(["f1", "f4", "f6"]);
		expect([...report.drifted].sort()).toEqual(["f1", "f4", "f6"]);
		for (const f of report.features.slice(0, 3)) {
			expect(f.psi).toBeGreaterThan(0.2);
			expect(f.ks).toBeGreaterThan(0.25);
			expect(f.pValue).toBeLessThan(1e-6);
		}
	});

	it("stands in a normal for a report without quantiles (mean and std only)", () => {
		expect(normalQuantile(0.975)).toBeCloseTo(1.959963984540054, 8);
		expect(normalQuantile(0.01)).toBeCloseTo(-2.3263478740408408, 8);
		const report: DatasetReport = {
			sha256: "0".repeat(64),
			bytes: 0,
			rows: 1000,
			warnings: [],
			label: {
				column: "y",
				type: "categorical",
				classes: [
					{ value: "a", count: 500, fraction: 0.5 },
					{ value: "b", count: 500, fraction: 0.5 },
				],
				imbalanceRatio: 1,
			},
			columns: [
				{
					name: "x",
					type: "numeric",
					missing: 0,
					min: -5,
					max: 5,
					mean: 0,
					std: 1,
					distinct: null,
				},
				{
					name: "y",
					type: "categorical",
					missing: 0,
					categories: [
						{ value: "a", count: 500 },
						{ value: "b", count: 500 },
					],
				},
			],
		};
		const baseline = baselineFromReport(report, ["x", "absent"], "dataset d@1");
		expect(baseline.features).toHaveLength(1);
		expect(baseline.features[0]).toMatchObject({
			name: "x",
			kind: "numeric",
			approximate: true,
		});
		expect(baseline.prediction).toMatchObject({
			kind: "categorical",
			shares: { a: 0.5, b: 0.5 },
		});
		const random = new SeededRandom(3);
		const same = driftOf(baseline, {
			rows: 1000,
			features: new Map([["x", { kind: "numeric", values: normals(random, 1000) }]]),
			predictions: {
				kind: "categorical",
				values: Array.from({ length: 1000 }, (_, i) => (i % 2 ? "a" : "b")),
			},
		});
		expect(same.status).toBe("ok");
		const skewed = driftOf(baseline, {
			rows: 1000,
			features: new Map([["x", { kind: "numeric", values: normals(random, 1000) }]]),
			predictions: {
				kind: "categorical",
				values: Array.from({ length: 1000 }, (_, i) => (i % 10 ? "a" : "b")),
			},
		});
		expect(skewed.status).toBe("drift");
		expect(skewed.prediction?.drifted).toBe(true);
		expect(skewed.drifted).toEqual([]);
	});
});
