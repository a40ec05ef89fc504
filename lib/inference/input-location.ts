/**
 * Where in a request a value sits, phrased for error messages: which input, which row and
 * which feature (`inputs[0] 'x' row 3 feature 'petal_width' (index 2)`). Every 400 the
 * decoder raises names the place this way, then what it got and what it expected.
 */
import { InvalidInputError } from "../errors";
import type { FeatureSpec } from "../model-spec/model-schema";

/** Describes the element at a flat row-major index of one decoded tensor. */
export type ElementDescriber = (index: number) => string;

/** A value as it should appear in a message: short, and unambiguous about its type. */
export function show(value: unknown): string {
	if (typeof value === "number" || typeof value === "bigint") return String(value);
	if (value === undefined) return "nothing";
	if (Array.isArray(value)) return "an array";
	const text = JSON.stringify(value) ?? String(value);
	return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/** `feature 'name' (index c)` where the schema names features, else `column c`. */
export function describeColumn(column: number, features?: readonly FeatureSpec[]): string {
	const feature = features?.[column];
	return feature ? `feature '${feature.name}' (index ${column})` : `column ${column}`;
}

/** Phrases positions inside one tensor given in the Open Inference Protocol's `inputs`. */
export function tensorDescriber(
	prefix: string,
	shape: readonly number[],
	features?: readonly FeatureSpec[],
): ElementDescriber {
	const rank = shape.length;
	if (rank === 0) return () => prefix;
	const width = shape[rank - 1];
	if (rank === 1)
		return i => (features ? `${prefix} ${describeColumn(i, features)}` : `${prefix} row ${i}`);
	if (rank === 2)
		return i => `${prefix} row ${Math.floor(i / width)} ${describeColumn(i % width, features)}`;
	return i => {
		const leading: number[] = [];
		let rest = Math.floor(i / width);
		for (let d = rank - 2; d >= 0; d--) {
			leading.unshift(rest % shape[d]);
			rest = Math.floor(rest / shape[d]);
		}
		return `${prefix} element [${leading.join(", ")}] ${describeColumn(i % width, features)}`;
	};
}

/** Phrases positions inside the tensor built from `instances`: rows are instances. */
export function instancesDescriber(
	inputName: string,
	width: number,
	features?: readonly FeatureSpec[],
): ElementDescriber {
	return i =>
		`instances[${Math.floor(i / width)}] (input '${inputName}') ${describeColumn(i % width, features)}`;
}

/** The 400 for a value a client sent: `<where>: <problem>.` */
export function invalidValue(where: string, problem: string): InvalidInputError {
	return new InvalidInputError(`${where}: ${problem}.`, { where });
}
