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
	// Plain loops and no allocation for the usual single input: this runs on every request.
	let rows = -1;
	for (let i = 0; i < inputs.length; i++) {
		const input = inputs[i];
		const where = (): { input: string } => ({ input: input.name });
		for (let j = 0; j < i; j++) {
			if (inputs[j].name === input.name)
				throw new InvalidInputError(`Input '${input.name}' is given twice.`, where());
		}
		const { shape, datatype, data } = input;
		const count = concreteCount(shape);
		if (count < 0) {
			throw new InvalidInputError(
				`Input '${input.name}' has shape ${JSON.stringify(shape)}; it needs concrete dimensions ≥ 0 with the batch first.`,
				where(),
			);
		}
		const rightKind =
			datatype === "BYTES"
				? Array.isArray(data)
				: isNumeric(datatype) && data instanceof TYPED_ARRAY_OF[datatype];
		if (!rightKind) {
			throw new InvalidInputError(
				`Input '${input.name}' holds ${data?.constructor?.name ?? typeof data}, which is not the array for ${String(datatype)}.`,
				where(),
			);
		}
		if (data.length !== count) {
			throw new InvalidInputError(
				`Input '${input.name}' has ${data.length} values; its shape ${JSON.stringify(shape)} needs ${count}.`,
				where(),
			);
		}
		if (rows !== -1 && shape[0] !== rows) {
			throw new InvalidInputError(
				`Input '${input.name}' has ${shape[0]} rows where the other inputs have ${rows}; every input's first dimension is the batch.`,
				where(),
			);
		}
		rows = shape[0];
	}
	return rows;
}

/** The values a shape holds, or -1 when it is not a non-empty list of whole numbers ≥ 0. */
function concreteCount(shape: unknown): number {
	if (!Array.isArray(shape) || shape.length === 0) return -1;
	let count = 1;
	for (let d = 0; d < shape.length; d++) {
		const dim: unknown = shape[d];
		if (!Number.isSafeInteger(dim) || (dim as number) < 0) return -1;
		count *= dim as number;
	}
	return count;
}

/**
 * A key that is equal for requests that can share a batch: the same input names, datatypes
 * and dimensions after the first, and the same requested outputs (undefined: all).
 */
export function batchGroup(
	inputs: readonly Tensor[],
	outputNames: readonly string[] | undefined,
): string {
	if (inputs.length === 1 && outputNames === undefined) {
		// The usual request, keyed without JSON; \u0001 keeps it apart from the general form.
		const { name, datatype, shape } = inputs[0];
		let key = `\u0001${datatype}`;
		for (let d = 1; d < shape.length; d++) key += `,${shape[d]}`;
		return `${key}\u0000${name}`;
	}
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
