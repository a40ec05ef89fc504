import {
	argmaxRows,
	classificationMetrics,
	confusionMatrix,
	macroScores,
	multiclassAuc,
	regressionMetrics,
	rocAuc,
} from "../../../lib/training/metrics";

// Values checked against scikit-learn 1.2 (accuracy_score, precision/recall/f1_score with
// average="macro", roc_auc_score with multi_class="ovr", mean_squared_error, r2_score…).

describe("classification metrics", () => {
	const truth = [0, 1, 2, 2];
	// Predicted: 0, 1, 2, 1 (row 3's best is class 1).
	const scores = [0.6, 0.3, 0.1, 0.2, 0.5, 0.3, 0.1, 0.2, 0.7, 0.3, 0.4, 0.3];

	it("predicts each row's highest score, the first on ties", () => {
		expect(Array.from(argmaxRows(scores, 3))).toEqual([0, 1, 2, 1]);
		expect(Array.from(argmaxRows([0.5, 0.5], 2))).toEqual([0]);
	});

	it("counts true classes in rows and predicted ones in columns", () => {
		expect(confusionMatrix(truth, [0, 1, 2, 1], 3)).toEqual([
			[1, 0, 0],
			[0, 1, 0],
			[0, 1, 1],
		]);
	});

	it("computes accuracy, macro precision/recall/F1 and one-vs-rest AUC by hand", () => {
		const metrics = classificationMetrics(truth, scores, 3);
		expect(metrics.accuracy).toBe(0.75);
		// precision: 1, 1/2, 1 · recall: 1, 1, 1/2 · F1: 1, 2/3, 2/3
		expect(metrics.precision).toBeCloseTo(5 / 6, 12);
		expect(metrics.recall).toBeCloseTo(5 / 6, 12);
		expect(metrics.f1).toBeCloseTo(7 / 9, 12);
		// Class 0 and 1 rank their positive first (AUC 1); class 2: 3 of 4 pairs and a tie → 0.875.
		expect(metrics.auc).toBeCloseTo((1 + 1 + 0.875) / 3, 12);
		expect(metrics.support).toEqual([1, 1, 2]);
	});

	it("leaves out of the macro average a class neither true nor predicted, and scores 0 for one never predicted", () => {
		// Classes 0, 1 and 2 occur; class 3 does not.
		const matrix = confusionMatrix([0, 0, 1], [0, 0, 2], 4);
		expect(macroScores(matrix).precision).toBeCloseTo(1 / 3, 12);
		expect(macroScores(matrix).f1).toBeCloseTo(1 / 3, 12);
	});
});

describe("rocAuc", () => {
	it("gives scikit-learn's documented example: 0.75", () => {
		expect(rocAuc([false, false, true, true], [0.1, 0.4, 0.35, 0.8])).toBe(0.75);
	});

	it("is 1 for a perfect ranking, 0 for a reversed one and 0.5 for all ties", () => {
		expect(rocAuc([false, true], [0.2, 0.9])).toBe(1);
		expect(rocAuc([false, true], [0.9, 0.2])).toBe(0);
		expect(rocAuc([false, true, false, true], [0.5, 0.5, 0.5, 0.5])).toBe(0.5);
	});

	it("is null without positives or without negatives", () => {
		expect(rocAuc([true, true], [0.1, 0.2])).toBeNull();
		expect(rocAuc([false], [0.1])).toBeNull();
	});

	it("uses class 1's probability for two classes", () => {
		const auc = multiclassAuc([0, 0, 1, 1], [0.9, 0.1, 0.6, 0.4, 0.65, 0.35, 0.2, 0.8], 2);
		expect(auc).toBe(0.75);
	});
});

describe("regressionMetrics", () => {
	it("computes MSE, MAE and R² by hand", () => {
		const metrics = regressionMetrics([3, -0.5, 2, 7], [2.5, 0, 2, 8]);
		expect(metrics.mse).toBe(0.375);
		expect(metrics.mae).toBe(0.5);
		// SSres = 1.5, SStot = 29.1875
		expect(metrics.r2).toBeCloseTo(1 - 1.5 / 29.1875, 12);
	});

	it("gives R² 1 for constant targets fitted exactly and 0 otherwise", () => {
		expect(regressionMetrics([2, 2], [2, 2]).r2).toBe(1);
		expect(regressionMetrics([2, 2], [1, 3]).r2).toBe(0);
	});
});
