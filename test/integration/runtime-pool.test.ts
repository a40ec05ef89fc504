/** Models run in piscina worker threads, as the predictor runs the XGBoost walker, TF.js and large ONNX batches. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { threadId as mainThreadId } from "node:worker_threads";
import { resolveRuntime } from "../../lib/runtimes";
import { RuntimePool } from "../../lib/runtimes/pool/runtime-pool";
import type { Tensor } from "../../lib/inference/tensor";
import { writeMlpModel } from "../unit/onnx/example-models";

const XGB = path.join(__dirname, "..", "fixtures", "xgboost", "iris-multi-softprob.json");

function irisRows(rows: number): Tensor {
	const data = new Float32Array(rows * 4);
	for (let i = 0; i < data.length; i++) data[i] = ((i * 7919) % 70) / 10;
	return { name: "input", datatype: "FP32", shape: [rows, 4], data };
}

describe("RuntimePool", () => {
	const pool = new RuntimePool({ threads: 2, minRowsPerChunk: 1000 });
	afterAll(() => pool.close());

	it("runs an XGBoost model in a worker thread with the same result as in-process", async () => {
		const input = irisRows(50);
		const local = await resolveRuntime("xgboost-json").load(XGB);
		const [expected] = await local.run([input]);
		const { outputs, executionProvider, chunks } = await pool.run({
			modelKey: "xgb",
			format: "xgboost-json",
			filePath: XGB,
			inputs: [{ ...input, data: (input.data as Float32Array).slice() }],
		});
		expect(executionProvider).toBe("js");
		expect(chunks).toEqual([{ rows: 50, threadId: expect.any(Number) }]);
		expect(chunks[0].threadId).not.toBe(mainThreadId);
		expect(outputs[0].shape).toEqual(expected.shape);
		expect(Array.from(outputs[0].data as Float32Array)).toEqual(
			Array.from(expected.data as Float32Array),
		);
		await local.dispose();
	});

	it("splits a 100,000-row batch across threads, joins it in order, and keeps the event loop ticking", async () => {
		const rows = 100_000;
		const input = irisRows(rows);
		const local = await resolveRuntime("xgboost-json").load(XGB);
		const [expected] = await local.run([input]);
		let ticks = 0;
		const timer = setInterval(() => ticks++, 5);
		const started = Date.now();
		const { outputs, chunks } = await pool.runChunked({
			modelKey: "xgb",
			format: "xgboost-json",
			filePath: XGB,
			inputs: [input],
		});
		const elapsed = Date.now() - started;
		clearInterval(timer);
		// One chunk per thread (2 threads, 1 chunk each), each run off the main thread.
		expect(chunks.map(c => c.rows)).toEqual([50_000, 50_000]);
		expect(chunks.every(c => c.threadId !== mainThreadId)).toBe(true);
		expect(outputs[0].shape).toEqual([rows, 3]);
		expect(
			Buffer.from((outputs[0].data as Float32Array).buffer).equals(
				Buffer.from((expected.data as Float32Array).buffer),
			),
		).toBe(true);
		// The loop ran its 5 ms timer throughout: a batch run on this thread would allow no tick.
		// At least one tick per 50 ms, as a loaded 2-core machine may delay each one a lot.
		expect(ticks).toBeGreaterThanOrEqual(Math.max(2, Math.floor(elapsed / 50)));
		await local.dispose();
	});

	it("moves copies of the chunks to the threads and leaves the caller's input intact", async () => {
		const input = irisRows(5003);
		const before = Float32Array.from(input.data as Float32Array);
		const local = await resolveRuntime("xgboost-json").load(XGB);
		const [expected] = await local.run([input]);
		const uneven = new RuntimePool({ threads: 2, minRowsPerChunk: 500, chunksPerThread: 3 });
		try {
			const { outputs, chunks } = await uneven.runChunked({
				modelKey: "xgb",
				format: "xgboost-json",
				filePath: XGB,
				inputs: [input],
			});
			// 2 threads × 3 chunks per thread, of 834 rows (the last one the rest).
			expect(chunks.map(c => c.rows)).toEqual([834, 834, 834, 834, 834, 833]);
			expect(new Set(chunks.map(c => c.threadId)).size).toBeLessThanOrEqual(2);
			expect(chunks.every(c => c.threadId !== mainThreadId)).toBe(true);
			expect(outputs[0].shape).toEqual([5003, 3]);
			expect(Array.from(outputs[0].data as Float32Array)).toEqual(
				Array.from(expected.data as Float32Array),
			);
		} finally {
			await uneven.close();
			await local.dispose();
		}
		// Still attached and unchanged: only the chunks' own copies moved.
		expect((input.data as Float32Array).byteLength).toBe(before.byteLength);
		expect(Array.from(input.data as Float32Array)).toEqual(Array.from(before));
	});

	it("runs ONNX chunks on sessions of each thread", async () => {
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mf-pool-"));
		const file = path.join(dir, "mlp.onnx");
		fs.writeFileSync(file, writeMlpModel());
		const rows = 5000;
		const data = new Float32Array(rows * 4).map((_, i) => (i % 9) - 4);
		const input: Tensor = { name: "x", datatype: "FP32", shape: [rows, 4], data };
		const local = await resolveRuntime("onnx").load(file);
		const expected = await local.run([input], ["logits"]);
		const { outputs, chunks } = await pool.runChunked({
			modelKey: "mlp",
			format: "onnx",
			filePath: file,
			inputs: [input],
			outputNames: ["logits"],
		});
		expect(chunks.map(c => c.rows)).toEqual([2500, 2500]);
		expect(outputs.map(o => o.name)).toEqual(["logits"]);
		expect(Array.from(outputs[0].data as Float32Array)).toEqual(
			Array.from(expected[0].data as Float32Array),
		);
		await local.dispose();
	});

	it("runs a batch with too few rows for two chunks whole, on one thread", async () => {
		const input = irisRows(1999);
		const { outputs, chunks } = await pool.runChunked({
			modelKey: "xgb",
			format: "xgboost-json",
			filePath: XGB,
			inputs: [input],
		});
		expect(chunks.map(c => c.rows)).toEqual([1999]);
		expect(outputs[0].shape).toEqual([1999, 3]);
	});

	it("reports a model that cannot load to the caller, and loads it again next time", async () => {
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mf-pool-"));
		const file = path.join(dir, "broken.json");
		fs.writeFileSync(file, "{ not json");
		const task = {
			modelKey: "broken",
			format: "xgboost-json" as const,
			filePath: file,
			inputs: [irisRows(1)],
		};
		await expect(pool.run(task)).rejects.toThrow();
		fs.copyFileSync(XGB, file);
		await expect(pool.run({ ...task, inputs: [irisRows(1)] })).resolves.toMatchObject({
			outputs: [{ shape: [1, 3] }],
		});
	});
});
