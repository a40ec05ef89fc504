/**
 * Grid search: every combination of the parameters' grid values, in a fixed order (parameters
 * by name, the last one varying fastest). A choice contributes its values; an int range each
 * step (at most GRID_POINTS of them, evenly spread); a uniform or loguniform range GRID_POINTS
 * points from min to max (evenly on a log scale for loguniform). A study runs the first
 * `budget.trials` combinations.
 */
import type { ParamDomain, ParamValue, Params, SearchSpace } from "../search-space";

/** Points a continuous range contributes to a grid. */
export const GRID_POINTS = 3;

function spread(min: number, max: number, count: number): number[] {
	if (count <= 1 || min === max) return [min];
	return Array.from({ length: count }, (_, i) => min + ((max - min) * i) / (count - 1));
}

/** The grid values of one parameter. */
export function gridValues(domain: ParamDomain): ParamValue[] {
	switch (domain.type) {
		case "choice":
			return [...domain.values];
		case "uniform":
			return spread(domain.min, domain.max, GRID_POINTS);
		case "loguniform":
			return spread(Math.log(domain.min), Math.log(domain.max), GRID_POINTS).map(Math.exp);
		case "int": {
			const step = domain.step ?? 1;
			const all: number[] = [];
			for (let v = domain.min; v <= domain.max; v += step) all.push(v);
			if (all.length <= GRID_POINTS) return all;
			return [
				...new Set(spread(0, all.length - 1, GRID_POINTS).map(i => all[Math.round(i)])),
			];
		}
	}
}

/** How many points the grid has. */
export function gridSize(space: SearchSpace): number {
	return Object.values(space).reduce((n, d) => n * gridValues(d).length, 1);
}

/** The grid's `index`-th point (0 ≤ index < gridSize). */
export function gridTrial(space: SearchSpace, index: number): Params {
	const names = Object.keys(space).sort();
	const params: Params = {};
	let rest = index;
	for (let i = names.length - 1; i >= 0; i--) {
		const values = gridValues(space[names[i]]);
		params[names[i]] = values[rest % values.length];
		rest = Math.floor(rest / values.length);
	}
	return params;
}
