/**
 * A deterministic split of a dataset's rows into train, validation and test: the same rows,
 * fractions and seed give the same split on every node, so a resumed training job (or anyone
 * checking a result) sees exactly the rows the first run saw. Stratified by a class column,
 * each class is split by the fractions on its own, so rare classes reach every split.
 */
import { InvalidInputError } from "../errors";
import type { Dataset } from "./dataset";
import { classIndices, classesOf, findColumn } from "./dataset";
import { SeededRandom } from "./seeded-random";

export interface SplitFractions {
	train: number;
	validation: number;
	test: number;
}

export interface DatasetSplit {
	/** Row indices, ascending. */
	train: Uint32Array;
	validation: Uint32Array;
	test: Uint32Array;
}

export interface SplitOptions {
	fractions: SplitFractions;
	seed: number;
	/** A column whose classes each split keeps in proportion (usually the label). Default: none. */
	stratifyBy?: string | null;
}

const PARTS = ["train", "validation", "test"] as const;

/** A 400 naming the fraction unless the three are ≥ 0, train > 0, and they sum to 1. */
export function checkSplitFractions(fractions: SplitFractions, field = "split"): void {
	for (const part of PARTS) {
		const value = fractions[part];
		if (typeof value !== "number" || !(value >= 0 && value <= 1))
			throw new InvalidInputError(
				`${field}.${part} must be a fraction in [0, 1]; got ${value}.`,
				{
					field: `${field}.${part}`,
				},
			);
	}
	if (!(fractions.train > 0))
		throw new InvalidInputError(`${field}.train must be above 0.`, { field: `${field}.train` });
	const sum = fractions.train + fractions.validation + fractions.test;
	if (Math.abs(sum - 1) > 1e-6)
		throw new InvalidInputError(
			`${field}: train + validation + test must be 1; they sum to ${sum}.`,
			{ field },
		);
}

/**
 * How many of n rows go to each part: the floors of n × fraction, then the rows left over to
 * the parts with the largest remainders (train first on ties, so a lone row trains).
 */
export function partSizes(n: number, fractions: SplitFractions): [number, number, number] {
	const exact = PARTS.map(p => n * fractions[p]);
	const sizes = exact.map(Math.floor) as [number, number, number];
	let left = n - sizes[0] - sizes[1] - sizes[2];
	const order = [0, 1, 2].sort((a, b) => exact[b] - sizes[b] - (exact[a] - sizes[a]) || a - b);
	for (let i = 0; left > 0; i = (i + 1) % 3, left--) sizes[order[i]]++;
	return sizes;
}

/** Splits rows 0 … rowCount-1; `strata` gives each row's class (-1: its own group). */
export function splitRows(
	rowCount: number,
	fractions: SplitFractions,
	seed: number,
	strata?: Int32Array,
): DatasetSplit {
	checkSplitFractions(fractions);
	const random = new SeededRandom(seed);
	const groups = new Map<number, number[]>();
	for (let row = 0; row < rowCount; row++) {
		const key = strata ? strata[row] : 0;
		let group = groups.get(key);
		if (!group) groups.set(key, (group = []));
		group.push(row);
	}
	const parts: number[][] = [[], [], []];
	for (const key of [...groups.keys()].sort((a, b) => a - b)) {
		const rows = random.shuffle(Uint32Array.from(groups.get(key) as number[]));
		const [train, validation] = partSizes(rows.length, fractions);
		rows.forEach((row, i) => parts[i < train ? 0 : i < train + validation ? 1 : 2].push(row));
	}
	const [train, validation, test] = parts.map(p => Uint32Array.from(p).sort());
	return { train, validation, test };
}

/** Splits a dataset's rows; see the module comment. */
export function splitDataset(dataset: Dataset, options: SplitOptions): DatasetSplit {
	let strata: Int32Array | undefined;
	if (options.stratifyBy) {
		const column = findColumn(dataset, options.stratifyBy);
		if (!column)
			throw new InvalidInputError(
				`stratifyBy: the dataset has no column '${options.stratifyBy}'.`,
				{
					field: "stratifyBy",
				},
			);
		if (classesOf(column) !== null) strata = classIndices(column);
	}
	return splitRows(dataset.rowCount, options.fractions, options.seed, strata);
}
