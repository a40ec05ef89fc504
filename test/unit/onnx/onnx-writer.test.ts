import * as ort from "onnxruntime-node";
import {
	irVersionForOpset,
	onnxAttribute,
	writeOnnxModel,
	type OnnxModelSpec,
} from "../../../lib/onnx/onnx-writer";
import { ProtobufReader } from "../../../lib/onnx/protobuf-reader";
import { MLP_EXAMPLE, MLP_SPEC, writeAttributesModel, writeMlpModel } from "./example-models";

async function session(bytes: Uint8Array): Promise<ort.InferenceSession> {
	return ort.InferenceSession.create(bytes);
}

function softmax(row: number[]): number[] {
	const exps = row.map(v => Math.exp(v - Math.max(...row)));
	const sum = exps.reduce((a, b) => a + b, 0);
	return exps.map(v => v / sum);
}

describe("writeOnnxModel", () => {
	it("writes an MLP that onnxruntime runs to the hand-computed result", async () => {
		const model = await session(writeMlpModel());
		try {
			const x = new ort.Tensor("float32", Float32Array.from(MLP_EXAMPLE.x), [2, 4]);
			const out = await model.run({ x });
			expect(out.logits.dims).toEqual([2, 2]);
			expect(Array.from(out.logits.data as Float32Array)).toEqual(MLP_EXAMPLE.logits);
			const expected = [
				...softmax(MLP_EXAMPLE.logits.slice(0, 2)),
				...softmax(MLP_EXAMPLE.logits.slice(2)),
			];
			const probabilities = Array.from(out.probabilities.data as Float32Array);
			probabilities.forEach((p, i) => expect(p).toBeCloseTo(expected[i], 6));
		} finally {
			await model.release();
		}
	});

	it("declares inputs and outputs with element types and symbolic dims", async () => {
		const model = await session(writeMlpModel());
		try {
			expect(model.inputMetadata).toEqual([
				{ name: "x", isTensor: true, type: "float32", shape: ["batch", 4] },
			]);
			expect(model.outputNames).toEqual(["logits", "probabilities"]);
		} finally {
			await model.release();
		}
	});

	it("writes float, int, ints, floats, string and tensor attributes and INT64 initializers", async () => {
		const model = await session(writeAttributesModel());
		try {
			const x = new ort.Tensor("float32", Float32Array.from([1, -2, -4, 8]), [2, 2]);
			const out = await model.run({ x });
			expect(Array.from(out.leaky.data as Float32Array)).toEqual([1, -0.5, -1, 8]);
			expect(Array.from(out.transposed.data as Float32Array)).toEqual([1, -4, -2, 8]);
			// "edge" padding (a string attribute) repeats the border; "constant" would give 0s.
			expect(Array.from(out.padded.data as Float32Array)).toEqual([
				1, 1, -2, -2, -4, -4, 8, 8,
			]);
			expect(Array.from(out.floats.data as Float32Array)).toEqual([0.5, -1.5]);
			expect(Array.from(out.ints.data as BigInt64Array)).toEqual([7n, -3n]);
			expect(Array.from(out.tensor.data as BigInt64Array)).toEqual([5n, 6n]);
		} finally {
			await model.release();
		}
	});

	it("writes ir_version, producer and opset_import at the top level", () => {
		const bytes = writeOnnxModel({ ...MLP_SPEC, opset: 13, producer: "me" });
		const reader = new ProtobufReader(bytes);
		const fields = new Map<number, unknown>();
		while (!reader.done) {
			const { field, wireType } = reader.tag();
			if (field === 1) fields.set(1, reader.int());
			else if (field === 2) fields.set(2, reader.string());
			else if (field === 8) fields.set(8, Array.from(reader.bytesValue()));
			else reader.skip(wireType);
		}
		expect(fields.get(1)).toBe(7);
		expect(fields.get(2)).toBe("me");
		// OperatorSetIdProto { domain: "", version: 13 }
		expect(fields.get(8)).toEqual([0x0a, 0x00, 0x10, 13]);
	});

	it("pairs each opset with the IR version ONNX released it with", () => {
		expect(irVersionForOpset(7)).toBe(3);
		expect(irVersionForOpset(9)).toBe(4);
		expect(irVersionForOpset(11)).toBe(6);
		expect(irVersionForOpset(13)).toBe(7);
		expect(irVersionForOpset(17)).toBe(8);
		expect(irVersionForOpset(21)).toBe(10);
	});

	it("refuses a tensor whose data does not fill its dims", () => {
		const spec: OnnxModelSpec = {
			graph: {
				nodes: [],
				initializers: [{ name: "w", dims: [2, 2], data: new Float32Array(3) }],
				inputs: [],
				outputs: [],
			},
		};
		expect(() => writeOnnxModel(spec)).toThrow(
			"Tensor 'w' has dims [2, 2] (4 elements) but 3 values",
		);
	});

	it("keeps large initializers by reference until the one final copy", () => {
		const big = new Float32Array(100_000).fill(1.5);
		const bytes = writeOnnxModel({
			graph: {
				nodes: [{ opType: "Add", inputs: ["x", "w"], outputs: ["y"] }],
				initializers: [{ name: "w", dims: [100_000], data: big }],
				inputs: [{ name: "x", datatype: "FP32", shape: [100_000] }],
				outputs: [{ name: "y", datatype: "FP32", shape: [100_000] }],
			},
			metadata: { trainedBy: "test" },
		});
		expect(bytes.byteLength).toBeGreaterThan(400_000);
		expect(bytes.byteLength).toBeLessThan(400_200);
		expect(onnxAttribute.float(1)).toEqual({ type: "float", value: 1 });
	});
});
