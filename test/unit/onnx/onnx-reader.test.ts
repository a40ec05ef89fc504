import * as ort from "onnxruntime-node";
import { readOnnxModel } from "../../../lib/onnx/onnx-reader";
import { writeOnnxModel } from "../../../lib/onnx/onnx-writer";
import { ProtobufDecodeError } from "../../../lib/onnx/protobuf-reader";
import {
	ATTRIBUTES_SPEC,
	MLP_EXAMPLE,
	writeAttributesModel,
	writeMlpModel,
} from "./example-models";

describe("readOnnxModel", () => {
	it("reads back what the writer wrote, byte for byte once written again", () => {
		for (const bytes of [writeMlpModel(), writeAttributesModel()]) {
			const again = writeOnnxModel(readOnnxModel(bytes));
			expect(Buffer.from(again).equals(Buffer.from(bytes))).toBe(true);
		}
	});

	it("reads nodes, typed attributes, initializers, inputs, outputs and opsets", () => {
		const model = readOnnxModel(writeAttributesModel());
		expect(model.graph.nodes.map(n => n.opType)).toEqual(
			ATTRIBUTES_SPEC.graph.nodes.map(n => n.opType),
		);
		expect(model.graph.inputs).toEqual(ATTRIBUTES_SPEC.graph.inputs);
		expect(model.opset).toEqual([{ domain: "", version: 17 }]);
		const attributes = model.graph.nodes.flatMap(n => Object.values(n.attributes ?? {}));
		expect(new Set(attributes.map(a => a.type))).toEqual(
			new Set(
				ATTRIBUTES_SPEC.graph.nodes
					.flatMap(n => Object.values(n.attributes ?? {}))
					.map(a => a.type),
			),
		);
	});

	it("carries INT8, UINT8 and FLOAT16 initializers that onnxruntime reads", async () => {
		const model = writeOnnxModel({
			graph: {
				nodes: [
					{ opType: "DequantizeLinear", inputs: ["q", "s", "z"], outputs: ["d"] },
					{
						opType: "Cast",
						inputs: ["h"],
						outputs: ["hf"],
						attributes: { to: { type: "int", value: 1 } },
					},
					{ opType: "Add", inputs: ["d", "hf"], outputs: ["y0"] },
					{ opType: "Add", inputs: ["y0", "x"], outputs: ["y"] },
				],
				initializers: [
					{ name: "q", dims: [2], data: Int8Array.from([-4, 6]) },
					{ name: "s", dims: [], data: Float32Array.from([0.5]) },
					{ name: "z", dims: [], data: Int8Array.from([0]) },
					{ name: "h", dims: [2], data: Uint16Array.from([0x3c00, 0xc000]) }, // 1, -2
				],
				inputs: [{ name: "x", datatype: "FP32", shape: [2] }],
				outputs: [{ name: "y", datatype: "FP32", shape: [2] }],
			},
		});
		const read = readOnnxModel(model);
		expect(read.graph.initializers.map(t => t.data.constructor.name)).toEqual([
			"Int8Array",
			"Float32Array",
			"Int8Array",
			"Uint16Array",
		]);
		const session = await ort.InferenceSession.create(writeOnnxModel(read));
		try {
			const out = await session.run({
				x: new ort.Tensor("float32", Float32Array.from([10, 20]), [2]),
			});
			expect(Array.from(out.y.data as Float32Array)).toEqual([9, 21]);
		} finally {
			await session.release();
		}
	});

	it("runs the re-written MLP to the same result", async () => {
		const session = await ort.InferenceSession.create(
			writeOnnxModel(readOnnxModel(writeMlpModel())),
		);
		try {
			const x = new ort.Tensor("float32", Float32Array.from(MLP_EXAMPLE.x), [2, 4]);
			const out = await session.run({ x });
			expect(Array.from(out.logits.data as Float32Array)).toEqual(MLP_EXAMPLE.logits);
		} finally {
			await session.release();
		}
	});

	it("refuses bytes that are not a model, saying why", () => {
		expect(() => readOnnxModel(Uint8Array.from([0x08]))).toThrow(ProtobufDecodeError);
		expect(() => readOnnxModel(new Uint8Array(0))).toThrow(/ir_version/);
	});
});
