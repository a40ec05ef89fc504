/**
 * The answer lines of a batch prediction: one JSON line per input row, `{"row", "outputs"}`
 * with each output's values for that row (a scalar for a [rows] output, else the row's values
 * flat, row-major), or `{"row", "error"}`.
 */
import { encodeOutputTensor } from "../../inference/response-encoder";
import type { Tensor } from "../../inference/tensor";

/** The lines of rows answered together: `rows[i]` is the input row of the outputs' row i. */
export function outputLines(rows: readonly number[], outputs: readonly Tensor[]): string[] {
	const n = rows.length;
	const perOutput = outputs.map(tensor => {
		const { name, data, shape } = encodeOutputTensor(tensor);
		if (shape[0] !== n) return { name, rowValue: () => data };
		const width = data.length / n;
		return {
			name,
			rowValue:
				shape.length === 1
					? (i: number) => data[i]
					: (i: number) => data.slice(i * width, (i + 1) * width),
		};
	});
	return rows.map((row, i) => {
		const values: Record<string, unknown> = {};
		for (const output of perOutput) values[output.name] = output.rowValue(i);
		return JSON.stringify({ row, outputs: values });
	});
}

/** The line of a row that got no outputs. */
export function errorLine(row: number, message: string): string {
	return JSON.stringify({ row, error: message });
}
