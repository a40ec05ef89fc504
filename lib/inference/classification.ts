/**
 * Triton's classification extension: an output asked for with `parameters: {classification: k}`
 * comes back as its top k classes instead of its values — a BYTES tensor shaped [rows, k] (or
 * [k] for an output without a batch dimension) whose elements read "value:index" or, where the
 * version names its classes, "value:index:label", highest value first (ties: lower index
 * first). Values print as Triton prints them (C++ `std::to_string`: six decimals for floating
 * point, integers as they are). Pure.
 */
import { InvalidInputError } from "../errors";
import { fromHalfBits } from "./fp16";
import type { Tensor } from "./tensor";

/** The most classes one output may return. */
export const MAX_CLASSIFICATION = 1_000_000;

const FLOATING = new Set(["FP16", "FP32", "FP64"]);

/**
 * The `classification` count an output's parameters ask for; undefined when they ask none.
 * @throws InvalidInputError when it is not a whole number from 1 to MAX_CLASSIFICATION
 */
export function classificationCount(
	parameters: Record<string, unknown> | null | undefined,
	output: string,
): number | undefined {
	const k = parameters?.classification;
	if (k === undefined || k === null) return undefined;
	if (typeof k !== "number" || !Number.isInteger(k) || k < 1 || k > MAX_CLASSIFICATION)
		throw new InvalidInputError(
			`outputs '${output}': parameters.classification must be a whole number of classes from 1 to ${MAX_CLASSIFICATION}; got ${JSON.stringify(k)}.`,
			{ where: "outputs" },
		);
	return k;
}

function formatValue(value: number | bigint, floating: boolean): string {
	return floating && typeof value === "number" ? value.toFixed(6) : String(value);
}

/**
 * The top `k` classes of every row of `tensor` as Triton's classification output (see the
 * module comment); k past the number of classes gives them all.
 * @throws InvalidInputError for a BYTES output (it has no values to rank)
 */
export function classify(tensor: Tensor, k: number, labels: readonly string[] | null): Tensor {
	if (tensor.datatype === "BYTES")
		throw new InvalidInputError(
			`outputs '${tensor.name}' is BYTES: classification ranks numeric outputs only.`,
			{ where: "outputs" },
		);
	const batched = tensor.shape.length > 1;
	const rows = batched ? tensor.shape[0] : 1;
	const classes = batched
		? tensor.shape.slice(1).reduce((a, b) => a * b, 1)
		: (tensor.shape[0] ?? 0);
	const count = Math.min(k, classes);
	const raw = tensor.data as ArrayLike<number | bigint>;
	// FP16 travels as its bit patterns: ranked (and printed) by the values they stand for.
	const data: ArrayLike<number | bigint> =
		tensor.datatype === "FP16" ? Float64Array.from(raw as Uint16Array, fromHalfBits) : raw;
	const floating = FLOATING.has(tensor.datatype);
	const out: string[] = new Array<string>(rows * count);
	const order = Array.from({ length: classes }, (_, i) => i);
	for (let r = 0; r < rows; r++) {
		const at = r * classes;
		const value = (i: number) => data[at + i];
		order.sort((a, b) => {
			const va = value(a);
			const vb = value(b);
			return va === vb ? a - b : va > vb ? -1 : 1;
		});
		for (let j = 0; j < count; j++) {
			const index = order[j];
			const label = labels !== null && index < labels.length ? `:${labels[index]}` : "";
			out[r * count + j] = `${formatValue(value(index), floating)}:${index}${label}`;
		}
		order.sort((a, b) => a - b);
	}
	return {
		name: tensor.name,
		datatype: "BYTES",
		shape: batched ? [rows, count] : [count],
		data: out,
	};
}
