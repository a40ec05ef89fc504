import {
	GRID_POINTS,
	gridSize,
	gridTrial,
	gridValues,
} from "../../../../lib/studies/searchers/grid";

describe("grid search", () => {
	it("enumerates every combination once, the last parameter fastest", () => {
		const space = {
			optimizer: { type: "choice" as const, values: ["adam", "sgd"] },
			units: { type: "int" as const, min: 4, max: 6 },
		};
		expect(gridSize(space)).toBe(6);
		const points = Array.from({ length: 6 }, (_, i) => gridTrial(space, i));
		expect(points).toEqual([
			{ optimizer: "adam", units: 4 },
			{ optimizer: "adam", units: 5 },
			{ optimizer: "adam", units: 6 },
			{ optimizer: "sgd", units: 4 },
			{ optimizer: "sgd", units: 5 },
			{ optimizer: "sgd", units: 6 },
		]);
	});

	it("spreads continuous ranges over a few points (log-spaced for loguniform)", () => {
		expect(gridValues({ type: "uniform", min: 0, max: 1 })).toEqual([0, 0.5, 1]);
		const log = gridValues({ type: "loguniform", min: 0.001, max: 0.1 }) as number[];
		expect(log).toHaveLength(GRID_POINTS);
		expect(log[1]).toBeCloseTo(0.01, 10);
		expect(gridValues({ type: "int", min: 8, max: 64, step: 8 })).toEqual([8, 40, 64]);
	});
});
