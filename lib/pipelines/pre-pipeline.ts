/**
 * The version's pre-processing, applied to the first input ([rows, columns]) in one pass: each
 * row is loaded into a scratch Float64Array, every step runs on it in the spec's order, and the
 * result is written straight into the output typed array. No per-row objects.
 *
 * Steps:
 * - standardize: (x - mean[c]) / std[c];   minmax: (x - min[c]) / (max[c] - min[c]);
 * - impute: a missing value (NaN) in column c becomes values[c] (mean and constant alike: the
 *   mean was computed at training time); values before it stay NaN through the steps above;
 * - clip: every column into [min, max] (NaN stays NaN);
 * - one-hot: column `feature` is replaced, in place, by one column per category in the step's
 *   order, so columns [a, color, b] with categories [red, green] become
 *   [a, color=red, color=green, b]; later steps index the widened layout.
 *
 * Per-column parameters must match the column count at their step, else a 400 naming the step
 * — at compile time when the width is known, at the first request of that width otherwise.
 */
import { categoryEncoding, listCategories } from "../inference/categorical-encoding";
import { numberReader } from "../inference/column-checks";
import { storedNumber } from "../inference/element-decoders";
import { toHalfBits } from "../inference/fp16";
import { TYPED_ARRAY_OF, type Tensor, type TensorData } from "../inference/tensor";
import type { OipDatatype, TensorSpec } from "../model-spec/model-schema";
import type { PreStep } from "../model-spec/version-spec";
import { stepError, stepName } from "./pipeline-errors";

export type PreStepType = PreStep["type"];
export type FloatDatatype = "FP16" | "FP32" | "FP64";

function isFloat(datatype: OipDatatype): datatype is FloatDatatype {
	return datatype === "FP16" || datatype === "FP32" || datatype === "FP64";
}

export interface PrePipelineOptions {
	/**
	 * The datatype the model's first input takes. Default: the schema input's own datatype when
	 * it is FP16/FP32/FP64, else FP32 (scaled values are not integers).
	 */
	outputDatatype?: FloatDatatype;
}

export interface CompiledPrePipeline {
	readonly steps: readonly PreStepType[];
	/** Columns the steps take, when the schema fixes it (or a step's parameters imply it). */
	readonly inputWidth: number | null;
	/** Columns the model receives after the steps, when known. */
	readonly outputWidth: number | null;
	/** Input columns where a missing value is filled by an impute step (see compileRequestValidator). */
	readonly imputedColumns: readonly number[];
	readonly outputDatatype: OipDatatype;
	/** The pre-processed tensor (same name, [rows, outputWidth]); the input itself without steps. */
	apply(input: Tensor): Tensor;
}

/** Transforms one row in place; `width` is the row's width before the step. */
type RowKernel = (row: Float64Array, rowIndex: number) => void;

interface Plan {
	kernels: RowKernel[];
	outputWidth: number;
	maxWidth: number;
	imputed: number[];
}

/** The input width the steps imply when the schema leaves it open: the first per-column list. */
function impliedWidth(steps: readonly PreStep[]): number | null {
	let added = 0;
	for (const step of steps) {
		if (step.type === "one-hot") added += step.categories.length - 1;
		else if (step.type === "standardize") return step.mean.length - added;
		else if (step.type === "minmax") return step.min.length - added;
		else if (step.type === "impute") return step.values.length - added;
	}
	return null;
}

function perColumn(
	step: string,
	name: string,
	values: readonly number[],
	width: number,
): Float64Array {
	if (values.length !== width)
		throw stepError(
			step,
			`${name} has ${values.length} values but the data has ${width} columns at this step; expected one per column`,
		);
	return Float64Array.from(values);
}

function oneHotKernel(
	step: string,
	spec: TensorSpec,
	feature: number,
	origin: number,
	categories: readonly (string | number)[],
	width: number,
): RowKernel {
	const k = categories.length;
	const positions = new Map<number, number>();
	const schemaFeature = origin >= 0 ? spec.features?.[origin] : undefined;
	const encoding = categoryEncoding(schemaFeature);
	if (encoding?.kind === "code") {
		encoding.categories.forEach((category, code) => {
			const position = categories.indexOf(category);
			if (position < 0)
				throw stepError(
					step,
					`feature '${schemaFeature?.name}' may be ${typeof category === "string" ? `'${category}'` : category} but the step has no column for it; expected its categories to cover the schema's (${listCategories(encoding.categories)})`,
				);
			positions.set(code, position);
		});
	} else {
		const stored = storedNumber(spec.datatype);
		categories.forEach((category, position) => {
			if (typeof category !== "number")
				throw stepError(
					step,
					`category '${category}' is a string but column ${feature} carries numbers; give the schema feature string categories so requests may send them`,
				);
			positions.set(category, position);
			positions.set(stored(category), position);
		});
	}
	const expected = listCategories(categories);
	return (row, rowIndex) => {
		const value = row[feature];
		const position = positions.get(value);
		if (position === undefined)
			throw stepError(
				step,
				`row ${rowIndex} column ${feature}: ${value !== value ? "missing value" : `got ${value}, not a category`}; expected one of ${expected}`,
			);
		for (let c = width - 1; c > feature; c--) row[c + k - 1] = row[c];
		row.fill(0, feature, feature + k);
		row[feature + position] = 1;
	};
}

function buildPlan(steps: readonly PreStep[], spec: TensorSpec, inputWidth: number): Plan {
	let width = inputWidth;
	let maxWidth = width;
	// Which input column each current column comes from (-1: made by a one-hot).
	let origin = Array.from({ length: width }, (_, c) => c);
	const imputed = new Set<number>();
	const kernels = steps.map((s, i): RowKernel => {
		const step = stepName("pre", i, s.type);
		const w = width;
		switch (s.type) {
			case "standardize": {
				const mean = perColumn(step, "mean", s.mean, w);
				const std = perColumn(step, "std", s.std, w);
				return row => {
					for (let c = 0; c < w; c++) row[c] = (row[c] - mean[c]) / std[c];
				};
			}
			case "minmax": {
				const min = perColumn(step, "min", s.min, w);
				const range = perColumn(step, "max", s.max, w).map((max, c) => max - min[c]);
				return row => {
					for (let c = 0; c < w; c++) row[c] = (row[c] - min[c]) / range[c];
				};
			}
			case "impute": {
				const values = perColumn(step, "values", s.values, w);
				for (const o of origin) if (o >= 0) imputed.add(o);
				return row => {
					for (let c = 0; c < w; c++) if (row[c] !== row[c]) row[c] = values[c];
				};
			}
			case "clip": {
				const { min, max } = s;
				return row => {
					for (let c = 0; c < w; c++) {
						const v = row[c];
						row[c] = v < min ? min : v > max ? max : v;
					}
				};
			}
			case "one-hot": {
				if (s.feature >= w)
					throw stepError(
						step,
						`feature ${s.feature} is past the data's ${w} columns at this step; expected a column index below ${w}`,
					);
				const kernel = oneHotKernel(
					step,
					spec,
					s.feature,
					origin[s.feature],
					s.categories,
					w,
				);
				const k = s.categories.length;
				origin = [
					...origin.slice(0, s.feature),
					...new Array<number>(k).fill(-1),
					...origin.slice(s.feature + 1),
				];
				width += k - 1;
				maxWidth = Math.max(maxWidth, width);
				return kernel;
			}
		}
	});
	return { kernels, outputWidth: width, maxWidth, imputed: [...imputed].sort((a, b) => a - b) };
}

function writer(datatype: OipDatatype, data: TensorData): (i: number, value: number) => void {
	if (datatype === "FP16") {
		const bits = data as Uint16Array;
		return (i, value) => (bits[i] = toHalfBits(value));
	}
	const values = data as Float32Array | Float64Array;
	return (i, value) => (values[i] = value);
}

/** Compiles the pre-processing of the version's first input, once per version. */
export function compilePrePipeline(
	steps: readonly PreStep[],
	spec: TensorSpec,
	options: PrePipelineOptions = {},
): CompiledPrePipeline {
	const outputDatatype: FloatDatatype =
		options.outputDatatype ?? (isFloat(spec.datatype) ? spec.datatype : "FP32");
	const types = steps.map(s => s.type);
	if (steps.length === 0)
		return {
			steps: types,
			inputWidth: null,
			outputWidth: null,
			imputedColumns: [],
			outputDatatype: spec.datatype,
			apply: input => input,
		};
	if (spec.shape.length !== 2 || spec.datatype === "BYTES")
		throw stepError(
			stepName("pre", 0, steps[0].type),
			`the first input '${spec.name}' is ${spec.datatype} [${spec.shape.join(", ")}]; expected a numeric input shaped [rows, columns]`,
		);
	const schemaWidth = spec.features?.length ?? (spec.shape[1] === -1 ? null : spec.shape[1]);
	const inputWidth = schemaWidth ?? impliedWidth(steps);
	const plans = new Map<number, Plan>();
	const planFor = (width: number): Plan => {
		let plan = plans.get(width);
		if (!plan) {
			plan = buildPlan(steps, spec, width);
			if (plans.size < 16) plans.set(width, plan);
		}
		return plan;
	};
	const known = inputWidth === null ? null : planFor(inputWidth);

	return {
		steps: types,
		inputWidth,
		outputWidth: known?.outputWidth ?? null,
		imputedColumns: known?.imputed ?? [],
		outputDatatype,
		apply(input) {
			const [rows, width] = input.shape;
			const plan = planFor(width);
			const { kernels, outputWidth } = plan;
			const read = numberReader(input.datatype, input.data);
			const data = new TYPED_ARRAY_OF[outputDatatype](rows * outputWidth);
			const write = writer(outputDatatype, data);
			const row = new Float64Array(plan.maxWidth);
			for (let r = 0; r < rows; r++) {
				const from = r * width;
				for (let c = 0; c < width; c++) row[c] = read(from + c);
				for (const kernel of kernels) kernel(row, r);
				const to = r * outputWidth;
				for (let c = 0; c < outputWidth; c++) write(to + c, row[c]);
			}
			return { name: input.name, datatype: outputDatatype, shape: [rows, outputWidth], data };
		},
	};
}
