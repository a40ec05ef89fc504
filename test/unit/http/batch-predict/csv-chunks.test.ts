import type { BatchChunk } from "../../../../lib/http/batch-predict/batch-chunk";
import { csvChunks } from "../../../../lib/http/batch-predict/csv-chunks";
import type { TabularInput } from "../../../../lib/http/batch-predict/input-rows";

async function* chunks(...parts: string[]): AsyncGenerator<string> {
	yield* parts;
}

async function all(generator: AsyncIterable<BatchChunk>): Promise<BatchChunk[]> {
	const out: BatchChunk[] = [];
	for await (const chunk of generator) out.push(chunk);
	return out;
}

const NUMERIC: TabularInput = {
	name: "x",
	datatype: "FP32",
	width: 3,
	features: [{ name: "a" }, { name: "b" }, { name: "c" }],
};

describe("csvChunks", () => {
	it("parses numeric rows into one typed tensor per chunk, columns in feature order", async () => {
		const result = await all(await csvChunks(chunks("c,a\n3,1\n6,", "4\n9,7\n"), NUMERIC, 2));
		expect(result.map(c => [c.order, c.rows])).toEqual([
			[
				[0, 1],
				[0, 1],
			],
			[[2], [2]],
		]);
		const [first, second] = result.map(c => c.payload);
		expect(first).toEqual({
			kind: "tensor",
			tensor: {
				name: "x",
				datatype: "FP32",
				width: 3,
				// b has no column: missing (NaN)
				data: Float32Array.of(1, NaN, 3, 4, NaN, 6),
			},
		});
		expect(second?.kind === "tensor" && [...second.tensor.data]).toEqual([7, NaN, 9]);
	});

	it("leaves rows that are not numbers, or ragged, out of the tensor with the reason", async () => {
		const [chunk] = await all(
			await csvChunks(chunks("a,b,c\n1,2,3\n1,x,3\n1,2\n4,5,6\n"), NUMERIC, 10),
		);
		expect(chunk.order).toEqual([0, 1, 2, 3]);
		expect(chunk.rows).toEqual([0, 3]);
		expect(chunk.errors).toEqual(
			new Map([
				[1, `row 1 column 'b': got "x"; expected a number (FP32).`],
				[2, "Row 2 has 2 values; the header has 3."],
			]),
		);
		expect(chunk.payload?.kind === "tensor" && [...chunk.payload.tensor.data]).toEqual([
			1, 2, 3, 4, 5, 6,
		]);
	});

	it("uses FP64 for an FP64 input, and gives a chunk of only bad rows no payload", async () => {
		const fp64 = { ...NUMERIC, datatype: "FP64" as const };
		const [good, bad] = await all(await csvChunks(chunks("a,b,c\n0.1,2,3\nx,y,z\n"), fp64, 1));
		expect(good.payload?.kind === "tensor" && good.payload.tensor.data).toBeInstanceOf(
			Float64Array,
		);
		expect(bad).toMatchObject({ order: [1], rows: [], payload: null });
	});

	it("reads rows of categorical or non-float inputs as instances, each cell for its column", async () => {
		const categorical: TabularInput = {
			name: "x",
			datatype: "FP32",
			width: 2,
			features: [{ name: "n" }, { name: "colour", categories: ["red", "blue"] }],
		};
		const [chunk] = await all(
			await csvChunks(chunks("colour,n\nred,1.5\nblue,\n"), categorical, 5),
		);
		expect(chunk.payload).toEqual({
			kind: "instances",
			instances: [
				[1.5, "red"],
				[null, "blue"],
			],
		});
	});

	it("fills an answered chunk's buffer again for a later chunk, unless told not to", async () => {
		const buffers = async (reuseBuffers: boolean): Promise<boolean> => {
			const generator = await csvChunks(chunks("a,b,c\n1,2,3\n4,5,6\n"), NUMERIC, 1, {
				reuseBuffers,
			});
			const first = (await generator.next()).value as BatchChunk;
			const before = first.payload?.kind === "tensor" && first.payload.tensor.data.buffer;
			first.release?.();
			const second = (await generator.next()).value as BatchChunk;
			expect(second.payload?.kind === "tensor" && [...second.payload.tensor.data]).toEqual([
				4, 5, 6,
			]);
			return (
				second.payload?.kind === "tensor" && second.payload.tensor.data.buffer === before
			);
		};
		expect(await buffers(true)).toBe(true);
		expect(await buffers(false)).toBe(false);
	});

	it("refuses an empty body or a header that does not fit before any row", async () => {
		await expect(csvChunks(chunks(""), NUMERIC, 5)).rejects.toThrow(/empty/);
		await expect(csvChunks(chunks("a,size\n1,2\n"), NUMERIC, 5)).rejects.toThrow(/'size'/);
	});
});
