import {
	inferParams,
	payloadRow,
	rowChunks,
	type BatchChunk,
} from "../../../../lib/http/batch-predict/batch-chunk";
import type { BatchRow } from "../../../../lib/http/batch-predict/input-rows";

describe("rowChunks", () => {
	it("gathers rows into chunks of a size, keeping error rows in order but out of the payload", async () => {
		async function* rows(): AsyncGenerator<BatchRow> {
			yield { row: 0, instance: [1] };
			yield { row: 1, error: "bad" };
			yield { row: 2, instance: [3] };
			yield { row: 3, error: "worse" };
		}
		const out: BatchChunk[] = [];
		for await (const chunk of rowChunks(rows(), 3)) out.push(chunk);
		expect(out).toEqual([
			{
				order: [0, 1, 2],
				rows: [0, 2],
				payload: { kind: "instances", instances: [[1], [3]] },
				errors: new Map([[1, "bad"]]),
			},
			{ order: [3], rows: [], payload: null, errors: new Map([[3, "worse"]]) },
		]);
	});
});

describe("payloadRow and inferParams", () => {
	const tensor = {
		kind: "tensor" as const,
		tensor: {
			name: "x",
			datatype: "FP32" as const,
			width: 2,
			data: Float32Array.of(1, 2, 3, 4),
		},
	};

	it("take one row of a payload without copying a tensor", () => {
		const row = payloadRow(tensor, 1);
		expect(row.kind === "tensor" && [...row.tensor.data]).toEqual([3, 4]);
		expect(row.kind === "tensor" && row.tensor.data.buffer).toBe(tensor.tensor.data.buffer);
		expect(payloadRow({ kind: "instances", instances: ["a", "b"] }, 1)).toEqual({
			kind: "instances",
			instances: ["b"],
		});
	});

	it("give a payload as predictor.infer's parameters: instances, or one typed input", () => {
		expect(inferParams(tensor)).toEqual({
			inputs: [
				{ name: "x", datatype: "FP32", shape: [2, 2], data: Float32Array.of(1, 2, 3, 4) },
			],
		});
		expect(inferParams({ kind: "instances", instances: [[1]] })).toEqual({ instances: [[1]] });
	});
});
