/**
 * Rows of tensors along the batch axis: checking a request's inputs, telling which requests
 * can share a batch, joining their inputs and splitting a batch's outputs back. Joining and
 * splitting copy whole ranges with typed-array `set`/`slice` (memcpy), never element by element.
 */
import { InvalidInputError } from "../errors";
import { TYPED_ARRAY_OF, elementCount, type Tensor, type TensorData } from "../inference/tensor";

type NumericDatatype = keyof typeof TYPED_ARRAY_OF;

/**
 * What every typed array in TYPED_ARRAY_OF can do, as one type: TypeScript cannot call `set`
 * on the union of them (bigint and number arrays take different sources).
 */
interface RowArray {
	readonly length: number;
	set(source: RowArray, offset: number): void;
	slice(start: number, end: number): RowArray;
}

function isNumeric(datatype: string): datatype is NumericDatatype {
	return Object.hasOwn(TYPED_ARRAY_OF, datatype);
}

/**
 * Checks that the inputs can take part in a batch and returns their row count (the shared
 * first dimension). A mistake here would shift other callers' rows in a shared batch, so it
 * is refused with InvalidInputError before the request is queued.
 */
export function requestRows(inputs: readonly Tensor[]): number {
	if (inputs.length === 0) throw new InvalidInputError("A request needs at least one input.");
	const names = new Set<string>();
	let rows: number | undefined;
	for (const input of inputs) {
		const where = { input: input.name };
		if (names.has(input.name)) {
			throw new InvalidInputError(`Input '${input.name}' is given twice.`, where);
		}
		names.add(input.name);
		const { shape, datatype, data } = input;
		if (
			!Array.isArray(shape) ||
			shape.length === 0 ||
			!shape.every(d => Number.isSafeInteger(d) && d >= 0)
		) {
			throw new InvalidInputError(
				`Input '${input.name}' has shape ${JSON.stringify(shape)}; it needs concrete dimensions ≥ 0 with the batch first.`,
				where,
			);
		}
		const rightKind =
			datatype === "BYTES"
				? Array.isArray(data)
				: isNumeric(datatype) && data instanceof TYPED_ARRAY_OF[datatype];
		if (!rightKind) {
			throw new InvalidInputError(
				`Input '${input.name}' holds ${data?.constructor?.name ?? typeof data}, which is not the array for ${String(datatype)}.`,
				where,
			);
		}
		if (data.length !== elementCount(shape)) {
			throw new InvalidInputError(
				`Input '${input.name}' has ${data.length} values; its shape ${JSON.stringify(shape)} needs ${elementCount(shape)}.`,
				where,
			);
		}
		if (rows !== undefined && shape[0] !== rows) {
			throw new InvalidInputError(
				`Input '${input.name}' has ${shape[0]} rows where the other inputs have ${rows}; every input's first dimension is the batch.`,
				where,
			);
		}
		rows = shape[0];
	}
	return rows as number;
}

/**
 * A key that is equal for requests that can share a batch: the same input names, datatypes
 * and dimensions after the first, and the same requested outputs (undefined: all).
 */
export function batchGroup(
	inputs: readonly Tensor[],
	outputNames: readonly string[] | undefined,
): string {
	const signature = inputs
		.map(input => [input.name, input.datatype, input.shape.slice(1)] as const)
		.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
	return JSON.stringify([signature, outputNames === undefined ? null : [...outputNames].sort()]);
}

/**
 * Joins the inputs of requests of one group along the first dimension, in the order of the
 * first request's inputs. A single request's inputs are passed on as they are, without a copy.
 */
export function concatRows(requests: readonly (readonly Tensor[])[]): Tensor[] {
	if (requests.length === 1) return [...requests[0]];
	return requests[0].map(first => {
		const parts = requests.map(inputs => {
			const part = inputs.find(input => input.name === first.name);
			// batchGroup guarantees every request of a batch has the input.
			if (part === undefined) throw new Error(`Input '${first.name}' missing in a batch`);
			return part;
		});
		const rows = parts.reduce((sum, part) => sum + part.shape[0], 0);
		const shape = [rows, ...first.shape.slice(1)];
		return {
			name: first.name,
			datatype: first.datatype,
			shape,
			data: concatData(first, parts),
		};
	});
}

function concatData(first: Tensor, parts: readonly Tensor[]): TensorData {
	if (first.datatype === "BYTES") {
		return ([] as string[]).concat(...parts.map(part => part.data as string[]));
	}
	const total = parts.reduce((sum, part) => sum + part.data.length, 0);
	const out = new TYPED_ARRAY_OF[first.datatype as NumericDatatype](total) as unknown as RowArray;
	let offset = 0;
	for (const part of parts) {
		out.set(part.data as unknown as RowArray, offset);
		offset += part.data.length;
	}
	return out as unknown as TensorData;
}

/**
 * Splits a batch's outputs back into one list per request, by row counts in batch order.
 * Each part is a copy (`slice`), not a view: a view would share its ArrayBuffer with the other
 * callers' rows, which a serializer sending `.buffer` would leak across callers and tenants.
 * With a single request the outputs are passed on as they are.
 */
export function splitRows(outputs: readonly Tensor[], rowCounts: readonly number[]): Tensor[][] {
	if (rowCounts.length === 1) return [[...outputs]];
	const total = rowCounts.reduce((sum, rows) => sum + rows, 0);
	for (const output of outputs) {
		if (output.shape[0] !== total) {
			throw new Error(
				`Output '${output.name}' has first dimension ${output.shape[0]}, not the batch size ${total}: this model cannot be batched; disable batching for it.`,
			);
		}
	}
	let firstRow = 0;
	return rowCounts.map(rows => {
		const start = firstRow;
		firstRow += rows;
		return outputs.map(output => {
			const perRow = elementCount(output.shape.slice(1));
			const data = (output.data as unknown as RowArray).slice(
				start * perRow,
				(start + rows) * perRow,
			) as unknown as TensorData;
			return {
				name: output.name,
				datatype: output.datatype,
				shape: [rows, ...output.shape.slice(1)],
				data,
			};
		});
	});
}
