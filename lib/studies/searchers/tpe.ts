/**
 * Tree-structured Parzen Estimator (Bergstra et al., 2011), per parameter: the finished trials
 * are split into the best `gamma` fraction ("good") and the rest; each side's values become a
 * density (a Gaussian at each value plus a flat prior over the range; for a choice, smoothed
 * counts); candidates are drawn from the good density and the one with the highest
 * good/rest ratio is the next value. Until `startupTrials` trials have finished, points are
 * random. Pure: the same history and generator give the same point.
 */
import type { SeededRandom } from "../../datasets/seeded-random";
import {
	sampleParams,
	type ParamDomain,
	type ParamValue,
	type Params,
	type SearchSpace,
} from "../search-space";

export interface TpeOptions {
	/** Random points before the model is used. Default 5. */
	startupTrials: number;
	/** The fraction of finished trials that counts as good. Default 0.25. */
	gamma: number;
	/** Candidates drawn from the good density per parameter. Default 24. */
	candidates: number;
}

export const TPE_DEFAULTS: TpeOptions = Object.freeze({
	startupTrials: 5,
	gamma: 0.25,
	candidates: 24,
});

/** A finished trial: its point and its objective value (higher is better here). */
export interface Observation {
	params: Params;
	score: number;
}

type Numeric = Exclude<ParamDomain, { type: "choice" }>;

function toUnit(domain: Numeric, value: number): number {
	return domain.type === "loguniform" ? Math.log(value) : value;
}

function fromUnit(domain: Numeric, t: number): number {
	if (domain.type === "loguniform") return Math.exp(t);
	if (domain.type === "int") {
		const step = domain.step ?? 1;
		const v = domain.min + Math.round((t - domain.min) / step) * step;
		return Math.min(domain.max, Math.max(domain.min, v));
	}
	return t;
}

function gaussian(random: SeededRandom): number {
	const u = Math.max(random.next(), 1e-12);
	return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random.next());
}

/** A Parzen density over [lo, hi]: a flat prior plus a Gaussian at each point. */
class Parzen {
	private readonly sigma: number;
	constructor(
		private readonly points: number[],
		private readonly lo: number,
		private readonly hi: number,
	) {
		const width = Math.max(hi - lo, 1e-12);
		this.sigma = (0.1 * width) / Math.pow(Math.max(points.length, 1), 0.2);
	}

	density(t: number): number {
		const width = Math.max(this.hi - this.lo, 1e-12);
		let sum = 1 / width;
		for (const p of this.points)
			sum +=
				Math.exp(-0.5 * ((t - p) / this.sigma) ** 2) /
				(this.sigma * Math.sqrt(2 * Math.PI));
		return sum / (this.points.length + 1);
	}

	sample(random: SeededRandom): number {
		const pick = random.int(this.points.length + 1);
		const t =
			pick === this.points.length
				? this.lo + random.next() * (this.hi - this.lo)
				: this.points[pick] + this.sigma * gaussian(random);
		return Math.min(this.hi, Math.max(this.lo, t));
	}
}

function numericValue(
	domain: Numeric,
	good: number[],
	bad: number[],
	random: SeededRandom,
	n: number,
): number {
	const lo = toUnit(domain, domain.min);
	const hi = toUnit(domain, domain.max);
	const l = new Parzen(
		good.map(v => toUnit(domain, v)),
		lo,
		hi,
	);
	const g = new Parzen(
		bad.map(v => toUnit(domain, v)),
		lo,
		hi,
	);
	let best = l.sample(random);
	let bestRatio = -Infinity;
	for (let i = 0; i < n; i++) {
		const t = i === 0 ? best : l.sample(random);
		const ratio = l.density(t) / g.density(t);
		if (ratio > bestRatio) [best, bestRatio] = [t, ratio];
	}
	return fromUnit(domain, best);
}

function choiceValue(
	values: ParamValue[],
	good: ParamValue[],
	bad: ParamValue[],
	random: SeededRandom,
): ParamValue {
	const weight = (side: ParamValue[], v: ParamValue) =>
		(side.filter(x => x === v).length + 1) / (side.length + values.length);
	// Sample from the good side's smoothed counts, keep the best ratio of a few draws.
	let best = values[0];
	let bestRatio = -Infinity;
	for (let i = 0; i < Math.max(4, values.length); i++) {
		let r = random.next();
		let v = values[values.length - 1];
		for (const candidate of values) {
			r -= weight(good, candidate);
			if (r < 0) {
				v = candidate;
				break;
			}
		}
		const ratio = weight(good, v) / weight(bad, v);
		if (ratio > bestRatio) [best, bestRatio] = [v, ratio];
	}
	return best;
}

/** The next point given the finished trials (in trial order). */
export function tpeTrial(
	space: SearchSpace,
	history: readonly Observation[],
	random: SeededRandom,
	options: TpeOptions = TPE_DEFAULTS,
): Params {
	if (history.length < Math.max(options.startupTrials, 2)) return sampleParams(space, random);
	const ranked = history
		.map((o, index) => ({ ...o, index }))
		.sort((a, b) => b.score - a.score || a.index - b.index);
	const goodCount = Math.max(1, Math.ceil(options.gamma * ranked.length));
	const good = ranked.slice(0, goodCount);
	const bad = ranked.slice(goodCount);
	const params: Params = {};
	for (const name of Object.keys(space).sort()) {
		const domain = space[name];
		const g = good.map(o => o.params[name]).filter(v => v !== undefined);
		const b = bad.map(o => o.params[name]).filter(v => v !== undefined);
		params[name] =
			domain.type === "choice"
				? choiceValue(domain.values, g, b, random)
				: numericValue(domain, g as number[], b as number[], random, options.candidates);
	}
	return params;
}
