/**
 * The input pre-processing of a trained model, fitted on the TRAIN split only: missing values
 * imputed (numeric: the mean; categorical: the most frequent category), numeric columns
 * standardized ((x - mean) / std, population std, 1 for a constant column), categorical
 * columns one-hot encoded in place.
 *
 * One definition, two executions that agree bit for bit:
 * - `transformDataset` / `transformRows` here make the training features;
 * - `pipelineSteps` is the version's `pipeline.pre`, which the predictor compiles
 *   (lib/pipelines/pre-pipeline.ts) and applies to requests.
 * Both start from the FP32 input tensor a client sends (a categorical value as its category's
 * index, a missing one as NaN), compute each step in doubles, in the same order (impute,
 * standardize, then one-hot from the last column back) with the same parameters, and round to
 * float32 once at the end.
 */
import { numericStats, codeCounts } from "../datasets/column-stats";
import { findColumn, type Dataset, type DatasetColumn } from "../datasets/dataset";
import { InvalidInputError } from "../errors";
import type { Tensor } from "../inference/tensor";
import type { FeatureSpec, TensorSpec } from "../model-spec/model-schema";
import type { PreStep } from "../model-spec/version-spec";

export interface NumericFeature {
	name: string;
	kind: "numeric";
	/** Of the train split; what a missing value becomes. */
	mean: number;
	/** Of the train split; 1 where the column is constant there. */
	std: number;
}

export interface CategoricalFeature {
	name: string;
	kind: "categorical";
	categories: readonly string[];
	/** The train split's most frequent category (its index): what a missing value becomes. */
	mostFrequent: number;
}

export type Feature = NumericFeature | CategoricalFeature;

/** A row as a client gives it: one value per feature, in `features` order, or by name. */
export type RawRow = readonly (number | string | null)[] | Readonly<Record<string, unknown>>;

/** Below this the std is treated as 0 (a constant column): dividing by it would blow values up. */
const MIN_STD = 1e-12;

export class Preprocessing {
	/** Columns the model input carries, before one-hot. */
	readonly inputWidth: number;
	/** Columns after one-hot: the network's input width. */
	readonly outputWidth: number;
	private readonly impute: Float64Array;
	private readonly mean: Float64Array;
	private readonly std: Float64Array;
	/** Per input column: its first output column. */
	private readonly offsets: Int32Array;
	/** Per input column: categories (one-hot width), 0 for numeric. */
	private readonly widths: Int32Array;

	constructor(readonly features: readonly Feature[]) {
		this.inputWidth = features.length;
		this.impute = Float64Array.from(features, f =>
			f.kind === "numeric" ? f.mean : f.mostFrequent,
		);
		this.mean = Float64Array.from(features, f => (f.kind === "numeric" ? f.mean : 0));
		this.std = Float64Array.from(features, f => (f.kind === "numeric" ? f.std : 1));
		this.widths = Int32Array.from(features, f =>
			f.kind === "categorical" ? f.categories.length : 0,
		);
		this.offsets = new Int32Array(features.length);
		let width = 0;
		features.forEach((f, c) => {
			this.offsets[c] = width;
			width += f.kind === "categorical" ? f.categories.length : 1;
		});
		this.outputWidth = width;
	}

	/** The network input columns input column `c` becomes: itself, or its one-hot block. */
	columnsOf(c: number): number[] {
		const width = this.features[c].kind === "categorical" ? this.widths[c] : 1;
		return Array.from({ length: width }, (_, i) => this.offsets[c] + i);
	}

	/** The version's `pipeline.pre`: impute, standardize, then one-hot per categorical column, last first. */
	get pipelineSteps(): PreStep[] {
		const steps: PreStep[] = [
			{ type: "impute", strategy: "mean", values: Array.from(this.impute) },
			{ type: "standardize", mean: Array.from(this.mean), std: Array.from(this.std) },
		];
		for (let c = this.features.length - 1; c >= 0; c--) {
			const feature = this.features[c];
			if (feature.kind === "categorical")
				steps.push({ type: "one-hot", feature: c, categories: [...feature.categories] });
		}
		return steps;
	}

	/** The version's first input: FP32 [rows, features], categorical features with their categories. */
	inputSpec(name = "input"): TensorSpec {
		return {
			name,
			datatype: "FP32",
			shape: [-1, this.inputWidth],
			features: this.features.map((f): FeatureSpec =>
				f.kind === "categorical"
					? { name: f.name, categories: [...f.categories] }
					: { name: f.name },
			),
		};
	}

	/** Feature rows of the dataset's `rows`, [rows.length, outputWidth] row-major. */
	transformDataset(dataset: Dataset, rows: ArrayLike<number>): Float32Array {
		const columns = this.features.map(f => findColumn(dataset, f.name) as DatasetColumn);
		columns.forEach((column, c) => {
			if (column?.kind !== this.features[c].kind)
				throw new InvalidInputError(
					`The dataset's column '${this.features[c].name}' is ${column ? column.kind : "missing"}, but the model takes it as ${this.features[c].kind}.`,
					{ field: this.features[c].name },
				);
		});
		const out = new Float32Array(rows.length * this.outputWidth);
		const raw = new Float64Array(this.inputWidth);
		for (let r = 0; r < rows.length; r++) {
			const row = rows[r];
			columns.forEach((column, c) => {
				if (column.kind === "numeric") raw[c] = Math.fround(column.values[row]);
				else raw[c] = column.codes[row] < 0 ? NaN : column.codes[row];
			});
			this.writeRow(raw, out, r * this.outputWidth);
		}
		return out;
	}

	/**
	 * The model input tensor a client would send for these rows: FP32 [rows, inputWidth], a
	 * category as its index, a missing value (null, undefined, "") as NaN. Throws a 400 naming
	 * the row and feature for a category the model does not know or a non-number.
	 */
	inputTensor(rows: readonly RawRow[], name = "input"): Tensor {
		const width = this.inputWidth;
		const data = new Float32Array(rows.length * width);
		const categoryIndex = this.features.map(f =>
			f.kind === "categorical" ? new Map(f.categories.map((c, i) => [c, i])) : null,
		);
		rows.forEach((row, r) => {
			this.features.forEach((feature, c) => {
				const value = Array.isArray(row)
					? (row as readonly unknown[])[c]
					: (row as Record<string, unknown>)[feature.name];
				data[r * width + c] = this.encodeValue(value, categoryIndex[c], r, feature);
			});
		});
		return { name, datatype: "FP32", shape: [rows.length, width], data };
	}

	/** Feature rows for raw rows: what the serving pipeline gives the model for the same rows. */
	transformRows(rows: readonly RawRow[]): Float32Array {
		return this.transformInput(this.inputTensor(rows));
	}

	/** Applies the steps to an FP32 input tensor as `inputTensor` makes it. */
	transformInput(input: Tensor): Float32Array {
		const [rows, width] = input.shape;
		if (width !== this.inputWidth || input.datatype !== "FP32")
			throw new TypeError(`expected FP32 [rows, ${this.inputWidth}]`);
		const data = input.data as Float32Array;
		const out = new Float32Array(rows * this.outputWidth);
		const raw = new Float64Array(width);
		for (let r = 0; r < rows; r++) {
			for (let c = 0; c < width; c++) raw[c] = data[r * width + c];
			this.writeRow(raw, out, r * this.outputWidth);
		}
		return out;
	}

	private encodeValue(
		value: unknown,
		categories: Map<string, number> | null,
		row: number,
		feature: Feature,
	): number {
		if (value === null || value === undefined || value === "") return NaN;
		if (categories) {
			const index = categories.get(String(value));
			if (index === undefined)
				throw new InvalidInputError(
					`row ${row + 1}, feature '${feature.name}': the value is not one of its categories.`,
					{ row: row + 1, field: feature.name },
				);
			return index;
		}
		const number = typeof value === "number" ? value : Number(value);
		if (typeof value !== "number" && typeof value !== "string")
			throw new InvalidInputError(
				`row ${row + 1}, feature '${feature.name}': expected a number.`,
				{ row: row + 1, field: feature.name },
			);
		if (Number.isNaN(number) && value !== "NaN")
			throw new InvalidInputError(
				`row ${row + 1}, feature '${feature.name}': the value is not a number.`,
				{ row: row + 1, field: feature.name },
			);
		return number;
	}

	/** One row of input values (already float32-exact) → its output columns. */
	private writeRow(raw: Float64Array, out: Float32Array, offset: number): void {
		for (let c = 0; c < raw.length; c++) {
			let v = raw[c];
			if (v !== v) v = this.impute[c];
			v = (v - this.mean[c]) / this.std[c];
			const at = offset + this.offsets[c];
			const k = this.widths[c];
			if (k === 0) out[at] = v;
			else {
				out.fill(0, at, at + k);
				if (!(v >= 0 && v < k && Number.isInteger(v)))
					throw new InvalidInputError(
						`feature '${this.features[c].name}': ${v} is not a category index below ${k}.`,
						{ field: this.features[c].name },
					);
				out[at + v] = 1;
			}
		}
	}
}

export interface FitOptions {
	labelColumn: string;
	/** Columns to use, in this order. Default: every column but the label, in file order. */
	features?: readonly string[] | null;
	/** The train split's rows: statistics come from these only. */
	trainRows: ArrayLike<number>;
}

/** Fits the pre-processing to the dataset's train rows; a 400 naming a feature the dataset lacks. */
export function fitPreprocessing(dataset: Dataset, options: FitOptions): Preprocessing {
	const names =
		options.features ??
		dataset.columns.map(c => c.name).filter(name => name !== options.labelColumn);
	if (names.length === 0)
		throw new InvalidInputError("The dataset has no columns to learn from besides the label.", {
			field: "features",
		});
	const features = names.map((name): Feature => {
		const column = findColumn(dataset, name);
		if (!column)
			throw new InvalidInputError(`features: the dataset has no column '${name}'.`, {
				field: "features",
			});
		if (column.kind === "categorical") {
			const counts = codeCounts(column.codes, column.categories.length, options.trainRows);
			const mostFrequent = counts.indexOf(Math.max(...counts));
			return { name, kind: "categorical", categories: column.categories, mostFrequent };
		}
		const stats = numericStats(column.values, options.trainRows);
		const mean = Number.isFinite(stats.mean) ? stats.mean : 0;
		const std = stats.std > MIN_STD ? stats.std : 1;
		return { name, kind: "numeric", mean, std };
	});
	return new Preprocessing(features);
}
