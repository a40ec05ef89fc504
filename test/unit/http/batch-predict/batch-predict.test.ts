import { InvalidInputError, OverloadedError } from "../../../../lib/errors";
import {
	batchPredictLines,
	type ChunkInfer,
} from "../../../../lib/http/batch-predict/batch-predict";
import { rowChunks, type ChunkPayload } from "../../../../lib/http/batch-predict/batch-chunk";
import type { BatchRow } from "../../../../lib/http/batch-predict/input-rows";
import { outputLines } from "../../../../lib/http/batch-predict/row-outputs";
import type { Tensor } from "../../../../lib/inference/tensor";

/** The rows of a payload, as plain arrays. */
function rowsIn(payload: ChunkPayload): number[][] {
	if (payload.kind === "instances") return payload.instances as number[][];
	const { width, data } = payload.tensor;
	return Array.from({ length: data.length / width }, (_, r) => [
		...data.subarray(r * width, (r + 1) * width),
	]);
}

/** A model of rows [v]: y = 2v (FP32 [n, 1]) and label = "v" (BYTES [n]); refuses v < 0 like the validator. */
const double: ChunkInfer = async payload => {
	const instances = rowsIn(payload);
	instances.forEach((instance, i) => {
		if ((instance as number[])[0] < 0)
			throw new InvalidInputError(`instances[${i}] (input 'x'): got a negative value`);
	});
	const values = instances.map(instance => (instance as number[])[0]);
	return {
		outputs: [
			{
				name: "y",
				datatype: "FP32",
				shape: [values.length, 1],
				data: Float32Array.from(values, v => 2 * v),
			},
			{ name: "label", datatype: "BYTES", shape: [values.length], data: values.map(String) },
		],
	};
};

async function* rowsOf(values: (number | string)[], failAfter?: Error): AsyncGenerator<BatchRow> {
	for (const [row, value] of values.entries())
		yield typeof value === "string" ? { row, error: value } : { row, instance: [value] };
	if (failAfter) throw failAfter;
}

async function answer(
	rows: AsyncIterable<BatchRow>,
	infer: ChunkInfer,
	options: Parameters<typeof batchPredictLines>[2] & { chunkRows?: number } = {},
): Promise<unknown[]> {
	let text = "";
	const { chunkRows = 512, ...rest } = options;
	for await (const part of batchPredictLines(rowChunks(rows, chunkRows), infer, {
		sleep: async () => {},
		...rest,
	}))
		text += part;
	expect(text.endsWith("\n")).toBe(true);
	return text
		.trim()
		.split("\n")
		.map(line => JSON.parse(line) as unknown);
}

describe("batchPredictLines", () => {
	it("answers every row in input order, in chunks, with each output's values for the row", async () => {
		const chunkSizes: number[] = [];
		const lines = await answer(
			rowsOf([1, 2, 3, 4, 5]),
			async payload => {
				chunkSizes.push(rowsIn(payload).length);
				return double(payload);
			},
			{ chunkRows: 2 },
		);
		expect(chunkSizes).toEqual([2, 2, 1]);
		expect(lines).toEqual(
			[1, 2, 3, 4, 5].map((v, row) => ({ row, outputs: { y: [2 * v], label: String(v) } })),
		);
	});

	it("keeps input order when later chunks answer first", async () => {
		const lines = await answer(
			rowsOf([1, 2, 3, 4]),
			async payload => {
				const first = rowsIn(payload)[0][0];
				await new Promise(resolve => setTimeout(resolve, first === 1 ? 30 : 1));
				return double(payload);
			},
			{ chunkRows: 1, concurrency: 4 },
		);
		expect(lines.map(l => (l as { row: number }).row)).toEqual([0, 1, 2, 3]);
	});

	it("retries a refused chunk row by row, so only the bad row gets an error line naming it", async () => {
		const lines = await answer(rowsOf([1, -7, 3, "Row 3 is not valid JSON."]), double, {
			chunkRows: 10,
		});
		expect(lines).toEqual([
			{ row: 0, outputs: { y: [2], label: "1" } },
			{ row: 1, error: "row 1 (input 'x'): got a negative value" },
			{ row: 2, outputs: { y: [6], label: "3" } },
			{ row: 3, error: "Row 3 is not valid JSON." },
		]);
	});

	it("retries a chunk that fails for a passing reason, with the wait the error asks for", async () => {
		const waits: number[] = [];
		let tries = 0;
		const lines = await answer(
			rowsOf([1]),
			async payload => {
				if (++tries < 3) throw new OverloadedError("queue of m@1.0.0", 250);
				return double(payload);
			},
			{ sleep: async ms => void waits.push(ms) },
		);
		expect(lines).toEqual([{ row: 0, outputs: { y: [2], label: "1" } }]);
		expect(waits).toEqual([250, 250]);
	});

	it("gives every row of a chunk the error when retries run out or the failure is the server's", async () => {
		const overloaded = await answer(rowsOf([1, 2]), async () => {
			throw new OverloadedError("queue of m@1.0.0", 10);
		});
		expect(overloaded).toEqual([
			{ row: 0, error: expect.stringMatching(/queue of m@1\.0\.0/) },
			{ row: 1, error: expect.stringMatching(/queue of m@1\.0\.0/) },
		]);
		const crashed = await answer(rowsOf([1]), async () => {
			throw new Error("/srv/app/lib/x.ts exploded");
		});
		expect(crashed).toEqual([{ row: 0, error: expect.not.stringContaining("/srv") }]);
	});

	it("ends with an error line, after the rows read so far, when the input breaks off", async () => {
		const lines = await answer(
			rowsOf([1, 2, 3], new InvalidInputError("The CSV ends inside a quoted field.")),
			double,
			{ chunkRows: 2 },
		);
		expect(lines).toEqual([
			{ row: 0, outputs: { y: [2], label: "1" } },
			{ row: 1, outputs: { y: [4], label: "2" } },
			{ row: 2, outputs: { y: [6], label: "3" } },
			{ error: "The CSV ends inside a quoted field." },
		]);
	});

	it("reads no further ahead than the chunks in flight while answers are not taken", async () => {
		let read = 0;
		async function* counted(): AsyncGenerator<BatchRow> {
			for (let row = 0; row < 1000; row++) {
				read++;
				yield { row, instance: [row] };
			}
		}
		const lines = batchPredictLines(rowChunks(counted(), 10), double, { concurrency: 3 });
		await lines.next();
		await new Promise(resolve => setTimeout(resolve, 20));
		// 3 chunks started before the first was awaited, and none read past them.
		expect(read).toBeLessThanOrEqual(3 * 10 + 1);
		await lines.return(undefined);
	});
});

describe("batchPredictLines with typed tensor chunks", () => {
	it("retries a refused tensor chunk row by row, naming the bad row", async () => {
		const chunk = {
			order: [10, 11, 12],
			rows: [10, 12],
			errors: new Map([[11, "row 11 column 'v': got \"x\"; expected a number (FP32)."]]),
			payload: {
				kind: "tensor" as const,
				tensor: {
					name: "x",
					datatype: "FP32" as const,
					width: 1,
					data: Float32Array.of(4, -1),
				},
			},
		};
		let text = "";
		for await (const part of batchPredictLines(
			(async function* () {
				yield chunk;
			})(),
			double,
		))
			text += part;
		expect(
			text
				.trim()
				.split("\n")
				.map(line => JSON.parse(line) as unknown),
		).toEqual([
			{ row: 10, outputs: { y: [8], label: "4" } },
			{ row: 11, error: "row 11 column 'v': got \"x\"; expected a number (FP32)." },
			{ row: 12, error: "row 12 (input 'x'): got a negative value" },
		]);
	});
});

describe("outputLines", () => {
	it("gives a [rows] output as a scalar, wider ones as the row's flat values, others whole", () => {
		const outputs: Tensor[] = [
			{
				name: "p",
				datatype: "FP32",
				shape: [2, 2, 2],
				data: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]),
			},
			{ name: "k", datatype: "INT64", shape: [2], data: BigInt64Array.from([5n, 2n ** 60n]) },
			{ name: "bias", datatype: "FP32", shape: [3], data: Float32Array.from([0, 0.5, 1]) },
		];
		expect(outputLines([7, 8], outputs).map(line => JSON.parse(line) as unknown)).toEqual([
			{ row: 7, outputs: { p: [1, 2, 3, 4], k: 5, bias: [0, 0.5, 1] } },
			{ row: 8, outputs: { p: [5, 6, 7, 8], k: "1152921504606846976", bias: [0, 0.5, 1] } },
		]);
	});
});
