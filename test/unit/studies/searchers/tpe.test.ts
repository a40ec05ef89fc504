import { SeededRandom } from "../../../../lib/datasets/seeded-random";
import { randomTrial, trialRandom } from "../../../../lib/studies/searchers/random";
import { tpeTrial, TPE_DEFAULTS, type Observation } from "../../../../lib/studies/searchers/tpe";
import type { Params, SearchSpace } from "../../../../lib/studies/search-space";

const space: SearchSpace = {
	x: { type: "uniform", min: -5, max: 5 },
	lr: { type: "loguniform", min: 1e-4, max: 1 },
	opt: { type: "choice", values: ["a", "b", "c", "d"] },
};

/** A toy objective, higher is better: best at x = 1.5, lr = 0.01, opt = "c". */
function objective(p: Params): number {
	return (
		-(((p.x as number) - 1.5) ** 2) -
		(Math.log10(p.lr as number) + 2) ** 2 -
		(p.opt === "c" ? 0 : 2)
	);
}

function bestAfter(trials: number, next: (history: Observation[], i: number) => Params): number {
	const history: Observation[] = [];
	for (let i = 0; i < trials; i++) {
		const params = next(history, i);
		history.push({ params, score: objective(params) });
	}
	return Math.max(...history.map(o => o.score));
}

describe("TPE", () => {
	it("samples randomly until its startup trials have finished", () => {
		const random = new SeededRandom(1);
		const first = tpeTrial(space, [], random);
		expect(first.x).toBeGreaterThanOrEqual(-5);
		expect(["a", "b", "c", "d"]).toContain(first.opt);
	});

	it("is a pure function of the history and the generator", () => {
		const history = Array.from({ length: 8 }, (_, i) => {
			const params = randomTrial(space, 9, i);
			return { params, score: objective(params) };
		});
		expect(tpeTrial(space, history, trialRandom(9, 8))).toEqual(
			tpeTrial(space, history, trialRandom(9, 8)),
		);
	});

	it("finds better points than random search on a toy objective, over many seeds", () => {
		let tpeWins = 0;
		let tpeTotal = 0;
		let randomTotal = 0;
		const seeds = 40;
		for (let seed = 0; seed < seeds; seed++) {
			const tpe = bestAfter(40, (history, i) =>
				tpeTrial(space, history, trialRandom(seed, i), TPE_DEFAULTS),
			);
			const random = bestAfter(40, (_, i) => randomTrial(space, seed, i));
			tpeTotal += tpe;
			randomTotal += random;
			if (tpe >= random) tpeWins++;
		}
		expect(tpeTotal / seeds).toBeGreaterThan(randomTotal / seeds);
		expect(tpeWins).toBeGreaterThanOrEqual(seeds * 0.55);
	});
});
