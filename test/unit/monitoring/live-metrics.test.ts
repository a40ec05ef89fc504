import { SeededRandom } from "../../../lib/datasets/seeded-random";
import {
	classificationMetrics,
	compareWithReference,
	regressionMetrics,
} from "../../../lib/monitoring/live-metrics";

describe("live metrics", () => {
	it("computes accuracy and macro precision, recall and F1 (hand-checked)", () => {
		// truth a a b b c; predicted a b b b a
		const m = classificationMetrics([
			{ truth: "a", predicted: "a" },
			{ truth: "a", predicted: "b" },
			{ truth: "b", predicted: "b" },
			{ truth: "b", predicted: "b" },
			{ truth: "c", predicted: "a" },
		]);
		expect(m.accuracy).toBe(3 / 5);
		// precision a 1/2, b 2/3, c 0; recall a 1/2, b 1, c 0
		expect(m.precision).toBeCloseTo((1 / 2 + 2 / 3) / 3, 15);
		expect(m.recall).toBeCloseTo((1 / 2 + 1) / 3, 15);
		expect(m.f1).toBeCloseTo((1 / 2 + 0.8) / 3, 15);
		// 1 and "1" are one class.
		expect(classificationMetrics([{ truth: 1, predicted: "1" }]).accuracy).toBe(1);
	});

	it("computes MAE and RMSE", () => {
		const m = regressionMetrics([
			{ truth: 1, predicted: 2 },
			{ truth: 3, predicted: 1 },
		]);
		expect(m.mae).toBe(1.5);
		expect(m.rmse).toBeCloseTo(Math.sqrt(2.5), 15);
	});

	it("flags a model whose labels are 30 % wrong against a test accuracy of 0.95", () => {
		const random = new SeededRandom(30);
		const items = Array.from({ length: 1000 }, () => {
			const truth = random.int(3);
			return { truth, predicted: random.next() < 0.3 ? (truth + 1) % 3 : truth };
		});
		const live = classificationMetrics(items);
		const exact = items.filter(i => i.truth === i.predicted).length / items.length;
		expect(live.accuracy).toBe(exact);
		const compared = compareWithReference(live, [{ name: "accuracy", value: 0.95 }], 0.05);
		expect(compared).toEqual([
			expect.objectContaining({ name: "accuracy", degraded: true, reference: 0.95 }),
		]);
		const healthy = compareWithReference(
			{ accuracy: 0.93 },
			[{ name: "accuracy", value: 0.95 }],
			0.05,
		);
		expect(healthy[0].degraded).toBe(false);
		// Errors degrade when they rise by more than the margin, relative to the reference.
		expect(
			compareWithReference({ rmse: 1.2 }, [{ name: "rmse", value: 1 }], 0.1)[0].degraded,
		).toBe(true);
		expect(
			compareWithReference({ rmse: 1.05 }, [{ name: "rmse", value: 1 }], 0.1)[0].degraded,
		).toBe(false);
	});
});
