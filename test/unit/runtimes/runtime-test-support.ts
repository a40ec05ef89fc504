/**
 * Helpers for the runtime tests: fixtures, error capture and the error measures parity is
 * judged by.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { FIXTURES } from "../importers/importer-test-files";

export {
	packTar,
	saveArtifacts,
	modelFolderEntries,
	temporaryFolder,
} from "../importers/importer-test-files";

/** One of test/fixtures/xgboost/*.predictions.json: rows with null for missing, and XGBoost's outputs. */
export interface XgboostFixture {
	modelPath: string;
	objective: string;
	rows: (number | null)[][];
	margins: (number | number[])[];
	predictions: (number | number[])[];
}

export function xgboostFixture(name: string): XgboostFixture {
	const dir = path.join(FIXTURES, "xgboost");
	const saved = JSON.parse(fs.readFileSync(path.join(dir, `${name}.predictions.json`), "utf8"));
	return { ...saved, modelPath: path.join(dir, `${name}.json`) };
}

/** The rows as one row-major float array, NaN for missing. */
export function rowsAsFloat32(rows: readonly (number | null)[][]): Float32Array {
	return Float32Array.from(rows.flat().map(v => (v === null ? NaN : v)));
}

export function maxAbsoluteError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
	expect(actual.length).toBe(expected.length);
	let max = 0;
	for (let i = 0; i < expected.length; i++)
		max = Math.max(max, Math.abs(actual[i] - expected[i]));
	return max;
}

/** max |a − e| / max(|e|, 1): relative error, absolute where values are below 1 in size. */
export function maxRelativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
	expect(actual.length).toBe(expected.length);
	let max = 0;
	for (let i = 0; i < expected.length; i++)
		max = Math.max(max, Math.abs(actual[i] - expected[i]) / Math.max(Math.abs(expected[i]), 1));
	return max;
}

/** The error a promise rejects with (fails the test when it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
	const outcome = await promise.then(
		() => undefined,
		(error: unknown) => error,
	);
	expect(outcome).toBeInstanceOf(Error);
	return outcome as Error;
}

/** A deterministic generator of uniform numbers in [-1, 1) (mulberry32). */
export function seededRandom(seed: number): () => number {
	let state = seed >>> 0;
	return () => {
		state = (state + 0x6d2b79f5) >>> 0;
		let t = state;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
	};
}
