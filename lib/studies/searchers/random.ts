/**
 * Random search: trial i's point depends only on the study's seed and i, so a trial that runs
 * late (its trainer died, it resumed elsewhere) is the same trial.
 */
import { SeededRandom } from "../../datasets/seeded-random";
import { sampleParams, type Params, type SearchSpace } from "../search-space";

/** The generator of trial `index` of a study seeded `seed`. */
export function trialRandom(seed: number, index: number): SeededRandom {
	// Golden-ratio stride: neighbouring trials get unrelated streams.
	return new SeededRandom((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
}

export function randomTrial(space: SearchSpace, seed: number, index: number): Params {
	return sampleParams(space, trialRandom(seed, index));
}
