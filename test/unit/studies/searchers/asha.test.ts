import { ashaPromotions, ashaRungs } from "../../../../lib/studies/searchers/asha";

describe("ASHA", () => {
	it("ends rungs at r, rη, rη², … and the spec's epochs", () => {
		expect(ashaRungs({ minEpochs: 2, reductionFactor: 3 }, 18)).toEqual([2, 6, 18]);
		expect(ashaRungs({ minEpochs: 2, reductionFactor: 3 }, 20)).toEqual([2, 6, 18, 20]);
		expect(ashaRungs({ minEpochs: 1, reductionFactor: 2 }, 8)).toEqual([1, 2, 4, 8]);
	});

	it("promotes the best of each block of η once its members finished, not waiting for the rung", () => {
		const scores = new Map<string, number | null>([
			["0/0", 0.5],
			["1/0", 0.9],
			["2/0", 0.7],
			// Trials 3 and 5 finished rung 0, 4 still runs: the second block waits.
			["3/0", 0.99],
			["5/0", 0.1],
		]);
		const score = (t: number, r: number) => scores.get(`${t}/${r}`);
		expect(ashaPromotions(6, 3, 3, score)).toEqual([{ trial: 1, rung: 1 }]);
		scores.set("4/0", 0.2);
		expect(ashaPromotions(6, 3, 3, score)).toEqual([
			{ trial: 1, rung: 1 },
			{ trial: 3, rung: 1 },
		]);
		// Only 2 members at rung 1 < η: no one reaches rung 2, as in successive halving.
		scores.set("1/1", 0.9).set("3/1", 0.8);
		expect(ashaPromotions(6, 3, 3, score)).toHaveLength(2);
	});

	it("decides the same whatever order trials finish in, breaking ties to the lower index", () => {
		const final: Record<string, number> = {};
		for (let t = 0; t < 9; t++) final[`${t}/0`] = [3, 1, 3, 2, 2, 0, 1, 1, 1][t];
		final["0/1"] = 5;
		final["3/1"] = 5;
		final["6/1"] = 4;
		const everything = ashaPromotions(9, 3, 3, (t, r) => final[`${t}/${r}`]);
		expect(everything).toEqual([
			{ trial: 0, rung: 1 },
			{ trial: 3, rung: 1 },
			{ trial: 6, rung: 1 },
			{ trial: 0, rung: 2 },
		]);
		// Any prefix of finishing in reverse order gives a subset of the same decisions.
		const done = new Set<string>();
		for (const k of Object.keys(final).reverse()) {
			done.add(k);
			const partial = ashaPromotions(9, 3, 3, (t, r) =>
				done.has(`${t}/${r}`) ? final[`${t}/${r}`] : undefined,
			);
			for (const p of partial) expect(everything).toContainEqual(p);
		}
	});

	it("lets a failed trial lose its block", () => {
		const scores: Record<string, number | null> = { "0/0": null, "1/0": 0.1, "2/0": null };
		expect(ashaPromotions(3, 2, 3, (t, r) => scores[`${t}/${r}`])).toEqual([
			{ trial: 1, rung: 1 },
		]);
		expect(ashaPromotions(3, 2, 3, () => null)).toEqual([]);
	});
});
