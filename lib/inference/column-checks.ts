/**
 * The value rules of one input, compiled once per version from its TensorSpec: missing values
 * (NaN) only in columns the pipeline imputes, feature min/max, and categories. They run over
 * the decoded typed data, so `inputs` and `instances` are held to exactly the same rules.
 */
import type { OipDatatype, TensorSpec } from "../registry/model-schema";
import { categoryEncoding, categoryNumbers, listCategories } from "./categorical-encoding";
import { storedNumber } from "./element-decoders";
import { fromHalfBits } from "./fp16";
import { invalidValue, type ElementDescriber } from "./input-location";
import type { Tensor, TensorData } from "./tensor";

/** Which form the request took: it changes how a categorical value is expected to be sent. */
export type RequestForm = "inputs" | "instances";

/** Throws 400 at the first value that breaks a rule. */
export type ColumnCheck = (tensor: Tensor, describe: ElementDescriber, form: RequestForm) => void;

interface ColumnRule {
	allowMissing: boolean;
	/** Bounds as stored in this datatype, for comparing; the feature's own for messages. */
	min: number;
	max: number;
	featureMin?: number;
	featureMax?: number;
	/** The numbers that may appear (category values or codes); null when any may. */
	allowed: ReadonlySet<number> | null;
	/** For BYTES: the strings that may appear. */
	allowedStrings: ReadonlySet<string> | null;
	/** The expected form in a tensor (`inputs`) and in `instances`. */
	expected: Record<RequestForm, string>;
}

const FLOATS: ReadonlySet<OipDatatype> = new Set(["FP16", "FP32", "FP64"]);

/** A stored FP32/FP16 value as the shortest decimal that stores the same (0.3, not 0.30000001…). */
function showStored(value: number, datatype: OipDatatype): string {
	const stored = storedNumber(datatype);
	for (let digits = 1; digits < 17; digits++) {
		const shorter = Number(value.toPrecision(digits));
		if (stored(shorter) === value) return String(shorter);
	}
	return String(value);
}

/** Reads element i of numeric typed data as a number. */
export function numberReader(datatype: OipDatatype, data: TensorData): (i: number) => number {
	if (datatype === "FP16") return i => fromHalfBits((data as Uint16Array)[i]);
	if (datatype === "INT64" || datatype === "UINT64")
		return i => Number((data as BigInt64Array | BigUint64Array)[i]);
	const values = data as Float64Array;
	return i => values[i];
}

function ruleFor(spec: TensorSpec, column: number, imputed: boolean): ColumnRule {
	const feature = spec.features?.[column];
	const encoding = categoryEncoding(feature);
	const stored = storedNumber(spec.datatype);
	const min = stored(feature?.min ?? -Infinity);
	const max = stored(feature?.max ?? Infinity);
	let expected = "a finite number";
	let inInstances: string | null = null;
	let allowed: ReadonlySet<number> | null = null;
	if (encoding?.kind === "value") {
		allowed = new Set(encoding.categories.map(stored));
		expected = `one of ${listCategories(encoding.categories)}`;
	} else if (encoding?.kind === "code") {
		allowed = new Set(categoryNumbers(encoding).values());
		expected = `a category code, an integer in [0, ${encoding.categories.length - 1}] standing for ${listCategories(encoding.categories)} (send the categories themselves with instances)`;
		inInstances = `one of ${listCategories(encoding.categories)}`;
	} else if (feature?.min !== undefined || feature?.max !== undefined) {
		expected = `a number in [${feature?.min ?? "-∞"}, ${feature?.max ?? "∞"}]`;
	}
	const allowedStrings =
		spec.datatype === "BYTES" && feature?.categories
			? new Set(feature.categories.map(String))
			: null;
	if (allowedStrings) expected = `one of ${listCategories(feature?.categories ?? [])}`;
	return {
		allowMissing: imputed,
		min,
		max,
		featureMin: feature?.min,
		featureMax: feature?.max,
		allowed,
		allowedStrings,
		expected: { inputs: expected, instances: inInstances ?? expected },
	};
}

function isTrivial(rule: ColumnRule, float: boolean): boolean {
	return (
		(!float || rule.allowMissing) &&
		rule.allowed === null &&
		rule.allowedStrings === null &&
		rule.min === -Infinity &&
		rule.max === Infinity
	);
}

/**
 * Compiles the checks of one input. `imputedColumns` are the columns (of the last dimension)
 * where a missing value is acceptable because the version's pre-processing imputes it.
 */
export function compileColumnCheck(
	spec: TensorSpec,
	imputedColumns: ReadonlySet<number>,
): ColumnCheck {
	const float = FLOATS.has(spec.datatype);
	const ruleCache = new Map<number, ColumnRule>();
	const rule = (column: number): ColumnRule => {
		let found = ruleCache.get(column);
		if (!found) {
			found = ruleFor(spec, column, imputedColumns.has(column));
			ruleCache.set(column, found);
		}
		return found;
	};
	// Integers and strings without features have no rule beyond their datatype's.
	if (!float && !spec.features) return () => {};
	// Floats without features or imputation (images, embeddings): only "no missing value",
	// checked without building a rule per column.
	if (!spec.features && imputedColumns.size === 0)
		return (tensor, describe) => {
			const read = numberReader(spec.datatype, tensor.data);
			for (let i = 0; i < tensor.data.length; i++)
				if (Number.isNaN(read(i)))
					throw invalidValue(
						describe(i),
						"missing value (null or NaN), which this input does not allow: the version's pipeline does not impute it; expected a finite number",
					);
		};
	return (tensor, describe, form) => {
		const { shape, data } = tensor;
		const width = shape.length > 0 ? shape[shape.length - 1] : 1;
		if (width === 0) return;
		const rules = Array.from({ length: width }, (_, c) => rule(c));
		if (rules.every(r => isTrivial(r, float))) return;
		if (spec.datatype === "BYTES") {
			const strings = data as string[];
			for (let i = 0; i < strings.length; i++) {
				const r = rules[i % width];
				if (r.allowedStrings && !r.allowedStrings.has(strings[i]))
					throw invalidValue(
						describe(i),
						`got ${JSON.stringify(strings[i])}, not a known category; expected ${r.expected[form]}`,
					);
			}
			return;
		}
		const read = numberReader(spec.datatype, data);
		const length = data.length;
		for (let i = 0; i < length; i++) {
			const r = rules[i % width];
			const v = read(i);
			if (v !== v) {
				if (r.allowMissing) continue;
				throw invalidValue(
					describe(i),
					`missing value (${form === "instances" ? "absent, null" : "null"} or NaN), which this column does not allow: the version's pipeline does not impute it; expected ${r.expected[form]}`,
				);
			}
			if (r.allowed !== null && !r.allowed.has(v))
				throw invalidValue(
					describe(i),
					`got ${showStored(v, spec.datatype)}, not a known category; expected ${r.expected[form]}`,
				);
			if (v < r.min)
				throw invalidValue(
					describe(i),
					`got ${showStored(v, spec.datatype)}, below the minimum ${r.featureMin}; expected ${r.expected[form]}`,
				);
			if (v > r.max)
				throw invalidValue(
					describe(i),
					`got ${showStored(v, spec.datatype)}, above the maximum ${r.featureMax}; expected ${r.expected[form]}`,
				);
		}
	};
}
