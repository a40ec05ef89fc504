/**
 * How a categorical feature travels inside a numeric tensor — the one rule the decoder, the
 * validator and the one-hot step share:
 *
 * - categories that are all numbers are carried as the values themselves (`value`);
 * - categories that include a string are carried as codes: the index of the category in the
 *   feature's `categories` list (`code`), since a numeric tensor cannot hold the string.
 *
 * So `instances` may name a category (`"color": "red"`) and the decoder writes its code, a
 * tensor in `inputs` carries the code directly, and the pre-processing pipeline, which is
 * compiled against the same schema, maps that number back to the category it one-hots.
 */
import type { FeatureSpec } from "../model-spec/model-schema";

export type CategoryEncoding =
	| { kind: "value"; categories: readonly number[] }
	| { kind: "code"; categories: readonly (string | number)[] };

/** The encoding of a feature, or null when it is not categorical. */
export function categoryEncoding(feature: FeatureSpec | undefined): CategoryEncoding | null {
	const categories = feature?.categories;
	if (!categories || categories.length === 0) return null;
	return categories.every(c => typeof c === "number")
		? { kind: "value", categories: categories as number[] }
		: { kind: "code", categories };
}

/** For each category, the number that carries it in a tensor (its value or its code). */
export function categoryNumbers(encoding: CategoryEncoding): Map<string | number, number> {
	return new Map(
		encoding.categories.map((category, code) => [
			category,
			encoding.kind === "value" ? (category as number) : code,
		]),
	);
}

/** `'red', 'green', 'blue'` / `1, 2, 3`, shortened past 20 categories. */
export function listCategories(categories: readonly (string | number)[]): string {
	const shown = categories.slice(0, 20).map(c => (typeof c === "string" ? `'${c}'` : String(c)));
	if (categories.length > 20) shown.push(`… (${categories.length} in all)`);
	return shown.join(", ");
}
