import {
	CaptureBuffer,
	captureTensorsOf,
	tensorRows,
	type CapturedPrediction,
} from "../../../lib/monitoring/capture";

const record = (i: number): CapturedPrediction => ({
	predictionId: `p${i}`,
	tenant: "t",
	model: "m",
	version: "1.0.0",
	at: 0,
	latencyMs: 1,
	rows: 1,
	inputs: null,
	outputs: null,
	error: null,
});

describe("capture", () => {
	it("names columns by the input's features, and keeps other tensors as arrays or scalars", () => {
		const rows = tensorRows(
			[
				{
					name: "x",
					datatype: "FP32",
					shape: [2, 2],
					data: Float32Array.of(1, 3.1, 3, 0.2),
				},
				{ name: "id", datatype: "INT64", shape: [2, 1], data: BigInt64Array.of(7n, 8n) },
				{
					name: "v",
					datatype: "FP32",
					shape: [2, 3],
					data: Float32Array.of(1, 2, 3, 4, 5, NaN),
				},
			],
			2,
			[
				{
					name: "x",
					datatype: "FP32",
					shape: [-1, 2],
					features: [{ name: "a" }, { name: "b" }],
				},
			],
		);
		expect(rows).toEqual([
			// Float32 values come back as the decimals sent (3.1, not 3.0999999046325684).
			{ a: 1, b: 3.1, id: 7, v: [1, 2, 3] },
			{ a: 3, b: 0.2, id: 8, v: [4, 5, null] },
		]);
	});

	it("copies an answered request's tensors, and keeps none of one too large", () => {
		const data = Float32Array.of(1, 2, 3, 4);
		const x = { name: "x", datatype: "FP32" as const, shape: [1, 4], data };
		const copied = captureTensorsOf(
			{ inputs: [x], outputs: [], rows: 1, inputSpecs: [] },
			4096,
		);
		// A copy: the caller may reuse its buffer once the answer is out.
		data[0] = 99;
		expect(copied.inputs).toEqual([
			{ name: "x", datatype: "FP32", shape: [1, 4], data: Float32Array.of(1, 2, 3, 4) },
		]);
		expect(copied.outputs).toEqual([]);
		const big = {
			name: "x",
			datatype: "FP32" as const,
			shape: [1, 5000],
			data: new Float32Array(5000),
		};
		expect(
			captureTensorsOf({ inputs: [big], outputs: [], rows: 1, inputSpecs: [] }, 4096),
		).toEqual({
			inputs: null,
			outputs: null,
		});
	});

	it("drops and counts when full, never waits, and flushes in batches", async () => {
		const sent: number[] = [];
		let release: () => void = () => {};
		const gate = new Promise<void>(resolve => (release = resolve));
		const buffer = new CaptureBuffer(
			async batch => {
				sent.push(batch.length);
				await gate;
			},
			{ maxPending: 5, maxBatch: 2, maxValues: 100 },
		);
		for (let i = 0; i < 7; i++) buffer.offer(record(i));
		expect(buffer.counts).toEqual({ captured: 5, dropped: 2, sent: 0, failed: 0 });
		const flushing = buffer.flush();
		// A second flush joins the running one.
		expect(buffer.flush()).toBe(flushing);
		// While the store is slow, the buffer takes new records again (room was made).
		expect(buffer.offer(record(9))).toBe(true);
		release();
		await flushing;
		expect(sent).toEqual([2, 2, 2]);
		expect(buffer.counts).toMatchObject({ captured: 6, sent: 6, failed: 0 });
	});

	it("counts records a failing store loses", async () => {
		const buffer = new CaptureBuffer(() => Promise.reject(new Error("away")), {
			maxPending: 10,
			maxBatch: 2,
			maxValues: 100,
		});
		for (let i = 0; i < 3; i++) buffer.offer(record(i));
		await buffer.flush();
		expect(buffer.counts.failed).toBe(2);
		expect(buffer.size).toBe(1);
	});
});
