/**
 * The value rules of one input, compiled once per version from its TensorSpec: missing values
 * (NaN) only in columns the pipeline imputes, feature min/max, and categories. They run over
 * the decoded typed data, so `inputs` and `instances` are held to exactly the same rules.
 */
import type { OipDatatype, TensorSpec } from "../model-spec/model-schema";
import { categoryEncoding, categoryNumbers, listCategories } from "./categorical-encoding";
import { columnScans, scanBound, type ColumnBounds } from "./column-scans";
import { ELEMENT_DECODERS, storedNumber } from "./element-decoders";
import { fromHalfBits } from "./fp16";
import { invalidValue, show, type ElementDescriber } from "./input-location";
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

/** Whether a rule refuses nothing but missing values. */
function isTrivial(rule: ColumnRule): boolean {
	return (
		rule.allowed === null &&
		rule.allowedStrings === null &&
		rule.min === -Infinity &&
		rule.max === Infinity
	);
}

/** The rules of one tensor width: one slot per column, bounds laid out for the scans. */
interface ColumnTable extends ColumnBounds {
	rules: ColumnRule[];
	/** Whether no rule refuses anything but missing values. */
	trivial: boolean;
}

function columnTable(rules: ColumnRule[]): ColumnTable {
	return {
		width: rules.length,
		rules,
		trivial: rules.every(isTrivial),
		lo: Float64Array.from(rules, r => scanBound(r.min)),
		hi: Float64Array.from(rules, r => scanBound(r.max)),
		categories: rules.flatMap((r, column) =>
			r.allowed !== null ? [{ column, allowed: r.allowed }] : [],
		),
	};
}

/**
 * Compiles the checks of one input. `imputedColumns` are the columns (of the last dimension)
 * where a missing value is acceptable because the version's pre-processing imputes it.
 * Infinities are refused everywhere: the element decoders refuse them in JSON, and these
 * checks in typed arrays, which reach them undecoded.
 */
export function compileColumnCheck(
	spec: TensorSpec,
	imputedColumns: ReadonlySet<number>,
): ColumnCheck {
	// Long because it compiles, once per input, one check closure per element type and imputation
	// case: each branch is a short closure, picked here so the per-value loop has no branches of
	// its own.
	const { datatype } = spec;
	const float = FLOATS.has(datatype);
	// Integers and strings without features have no rule beyond their datatype's.
	if (!float && !spec.features) return () => {};
	const scans = datatype === "BYTES" ? null : columnScans(datatype);
	const notFinite = (v: number) =>
		`got ${show(v)}; expected ${ELEMENT_DECODERS[datatype].expected}`;
	// Floats without features or imputation (images, embeddings): one rule, "finite", for
	// every value whatever the width.
	if (scans && !spec.features && imputedColumns.size === 0)
		return (tensor, describe) => {
			const { data } = tensor;
			const i = scans.nonFinite(data);
			if (i === -1) return;
			const v = scans.valueAt(data, i);
			throw invalidValue(
				describe(i),
				v !== v
					? "missing value (null or NaN), which this input does not allow: the version's pipeline does not impute it; expected a finite number"
					: notFinite(v),
			);
		};
	const ruleCache = new Map<number, ColumnRule>();
	const rule = (column: number): ColumnRule => {
		let found = ruleCache.get(column);
		if (!found) {
			found = ruleFor(spec, column, imputedColumns.has(column));
			ruleCache.set(column, found);
		}
		return found;
	};
	// Requests of one input nearly always share a width: keep the last one's table.
	let last: ColumnTable | null = null;
	const tableOf = (width: number): ColumnTable => {
		if (last?.width !== width)
			last = columnTable(Array.from({ length: width }, (_, c) => rule(c)));
		return last;
	};
	/** What is wrong with a value a scan stopped at, or null when its column accepts it. */
	const problemWith = (r: ColumnRule, v: number, form: RequestForm): string | null => {
		if (v !== v)
			return r.allowMissing
				? null
				: `missing value (${form === "instances" ? "absent, null" : "null"} or NaN), which this column does not allow: the version's pipeline does not impute it; expected ${r.expected[form]}`;
		if (v - v !== 0) return notFinite(v);
		if (r.allowed !== null && !r.allowed.has(v))
			return `got ${showStored(v, datatype)}, not a known category; expected ${r.expected[form]}`;
		if (v < r.min)
			return `got ${showStored(v, datatype)}, below the minimum ${r.featureMin}; expected ${r.expected[form]}`;
		if (v > r.max)
			return `got ${showStored(v, datatype)}, above the maximum ${r.featureMax}; expected ${r.expected[form]}`;
		return null;
	};
	return (tensor, describe, form) => {
		const { shape, data } = tensor;
		const width = shape.length > 0 ? shape[shape.length - 1] : 1;
		if (width === 0) return;
		const table = tableOf(width);
		if (!float && table.trivial) return;
		if (!scans) {
			const strings = data as string[];
			for (let i = 0; i < strings.length; i++) {
				const r = table.rules[i % width];
				if (r.allowedStrings && !r.allowedStrings.has(strings[i]))
					throw invalidValue(
						describe(i),
						`got ${JSON.stringify(strings[i])}, not a known category; expected ${r.expected[form]}`,
					);
			}
			return;
		}
		// The first refusal in row-major order, of either scan. The bounds scan stops at every
		// missing value too, refused or imputed; after an imputed one it goes on.
		const category = scans.unknownCategory(data, table);
		for (let i = scans.outOfBounds(data, 0, table); ;) {
			const at = i === -1 || (category !== -1 && category < i) ? category : i;
			if (at === -1) return;
			const problem = problemWith(table.rules[at % width], scans.valueAt(data, at), form);
			if (problem !== null) throw invalidValue(describe(at), problem);
			i = scans.outOfBounds(data, at + 1, table);
		}
	};
}
