/**
 * Feeding dataset rows to an ONNX model in onnxruntime: the model's first input takes
 * [rows, …] where the other dims hold one row's `width` values (e.g. [rows, 64] or
 * [rows, 1, 8, 8] for an 8×8 image), and the outputs of every batch are joined.
 */
import * as ort from "onnxruntime-node";
import { InvalidInputError } from "../errors";
import { fromHalfBits, toHalfBits } from "../inference/fp16";
import type { OnnxDim } from "../onnx/onnx-writer";
import { fromOrtTensor, toOrtTensor } from "../runtimes/onnx/onnx-tensors";

/** [rows, …dims of one row]: the input's own dims after the batch when they are all known. */
export function rowDims(shape: readonly OnnxDim[] | null, rows: number, width: number): number[] {
	const rest = (shape ?? []).slice(1);
	const known = rest.every(d => typeof d === "number" && d > 0);
	if (rest.length === 0 || !known) return [rows, width];
	const size = (rest as number[]).reduce((a, b) => a * b, 1);
	if (size !== width)
		throw new InvalidInputError(
			`the dataset rows have ${width} values but the model's input takes [${rest.join(", ")}] (${size}) per row`,
			{ field: "dataset" },
		);
	return [rows, ...(rest as number[])];
}

export interface RowsRun {
	/** Output name → all rows' values, row-major. */
	outputs: Map<string, Float32Array>;
	/** Output name → the values per row. */
	widths: Map<string, number>;
}

function inputTensor(
	values: Float32Array,
	dims: number[],
	options: { inputDatatype?: string },
): ort.Tensor {
	if (options.inputDatatype !== "FP16") return new ort.Tensor("float32", values, dims);
	const data = Uint16Array.from(values, toHalfBits);
	return toOrtTensor(ort, { name: "input", datatype: "FP16", shape: dims, data });
}

/** An output's values as float32 (a float16 output's bit patterns decoded). */
function floatValues(name: string, value: ort.Tensor): Float32Array {
	if (value.type === "float16")
		return Float32Array.from(
			fromOrtTensor(name, value, null).data as Uint16Array,
			fromHalfBits,
		);
	const data = value.data;
	return data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>);
}

/**
 * Runs `rows` rows through the session in batches, asking for `outputNames` (float32 each).
 * Long because it slices, runs and joins in one loop, which is clearer than three helpers.
 */
export async function runRows(
	session: ort.InferenceSession,
	features: Float32Array,
	rows: number,
	width: number,
	options: {
		inputShape: readonly OnnxDim[] | null;
		outputNames: readonly string[];
		batch?: number;
		/** The first input's datatype: FP16 (fp16 without keepIoTypes) gets the rows as float16. */
		inputDatatype?: string;
	},
): Promise<RowsRun> {
	const batch = options.batch ?? 256;
	const input = session.inputNames[0];
	const parts = new Map<string, Float32Array[]>(options.outputNames.map(n => [n, []]));
	for (let start = 0; start < rows; start += batch) {
		const count = Math.min(batch, rows - start);
		const dims = rowDims(options.inputShape, count, width);
		const slice = features.subarray(start * width, (start + count) * width);
		const result = await session.run({ [input]: inputTensor(slice, dims, options) }, [
			...options.outputNames,
		]);
		for (const name of options.outputNames) {
			parts.get(name)!.push(floatValues(name, result[name]));
			result[name].dispose();
		}
	}
	const outputs = new Map<string, Float32Array>();
	const widths = new Map<string, number>();
	for (const [name, chunks] of parts) {
		const total = chunks.reduce((sum, c) => sum + c.length, 0);
		const joined = new Float32Array(total);
		let offset = 0;
		for (const chunk of chunks) {
			joined.set(chunk, offset);
			offset += chunk.length;
		}
		outputs.set(name, joined);
		widths.set(name, rows > 0 ? total / rows : 0);
	}
	return { outputs, widths };
}
