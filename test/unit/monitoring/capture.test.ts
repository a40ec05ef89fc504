import {
	CaptureBuffer,
	tensorRows,
	type CaptureBatch,
	type CapturedPrediction,
} from "../../../lib/monitoring/capture";
import { decodeCaptureBatch } from "../../../lib/monitoring/capture-batch";

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

	it("copies a record's tensors when offered, and keeps none of one too large", async () => {
		const sent: CaptureBatch[] = [];
		const buffer = new CaptureBuffer(async batches => void sent.push(...batches), {
			maxValues: 4096,
		});
		const data = Float32Array.of(1, 2, 3, 4);
		const x = { name: "x", datatype: "FP32" as const, shape: [1, 4], data };
		buffer.offer({ ...record(0), inputs: [x], outputs: [] });
		// A copy: the caller may reuse its buffer once the answer is out.
		data[0] = 99;
		const big = { name: "x", datatype: "FP32", shape: [1, 5000], data: new Float32Array(5000) };
		buffer.offer({ ...record(1), inputs: [big], outputs: [] });
		await buffer.flush();
		expect(sent.map(b => [b.tenant, b.model])).toEqual([["t", "m"]]);
		const [kept, tooLarge] = decodeCaptureBatch(sent[0].payload);
		expect(kept.inputs).toEqual([
			{ name: "x", datatype: "FP32", shape: [1, 4], data: Float32Array.of(1, 2, 3, 4) },
		]);
		expect(kept.outputs).toEqual([]);
		expect(tooLarge).toMatchObject({ predictionId: "p1", inputs: null, outputs: null });
	});

	it("writes a batch per tenant, model and day, in the order offered", async () => {
		const sent: CaptureBatch[] = [];
		const buffer = new CaptureBuffer(async batches => void sent.push(...batches));
		const day = 86_400_000;
		const offered = [
			{ ...record(0), tenant: "a", model: "m" },
			{ ...record(1), tenant: "b", model: "m" },
			{ ...record(2), tenant: "a", model: "n" },
			{ ...record(3), tenant: "a", model: "m" },
			{ ...record(4), tenant: "a", model: "m", at: day + 5 },
		];
		for (const r of offered) buffer.offer(r);
		await buffer.flush();
		const got = sent.map(b => ({
			tenant: b.tenant,
			model: b.model,
			ids: decodeCaptureBatch(b.payload).map(c => c.predictionId),
		}));
		// The first day's batch of a/m was sealed when the next day's capture came.
		expect(got).toHaveLength(4);
		expect(got).toEqual(
			expect.arrayContaining([
				{ tenant: "a", model: "m", ids: ["p0", "p3"] },
				{ tenant: "b", model: "m", ids: ["p1"] },
				{ tenant: "a", model: "n", ids: ["p2"] },
				{ tenant: "a", model: "m", ids: ["p4"] },
			]),
		);
		expect(buffer.counts).toEqual({ captured: 5, dropped: 0, sent: 5, failed: 0 });
	});

	it("drops and counts when full, never waits, and flushes in batches", async () => {
		const sent: number[][] = [];
		let release: () => void = () => {};
		const gate = new Promise<void>(resolve => (release = resolve));
		const buffer = new CaptureBuffer(
			async batches => {
				sent.push(batches.map(b => decodeCaptureBatch(b.payload).length));
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
		// Batches of at most 2 records; the record offered meanwhile waits for the next flush.
		expect(sent).toEqual([[2], [2], [1]]);
		expect(buffer.counts).toMatchObject({ captured: 6, sent: 5, failed: 0 });
		expect(buffer.size).toBe(1);
		await buffer.flush();
		expect(sent.at(-1)).toEqual([1]);
		expect(buffer.counts).toMatchObject({ captured: 6, sent: 6, failed: 0 });
		expect(buffer.size).toBe(0);
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
