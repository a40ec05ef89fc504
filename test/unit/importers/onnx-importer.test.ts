import { InvalidModelFileError } from "../../../lib/errors";
import { OnnxImporter } from "../../../lib/importers/onnx-importer";
import { writeOnnxModel } from "../../../lib/onnx/onnx-writer";
import type { OipDatatype } from "../../../lib/model-spec/model-schema";
import { writeMlpModel } from "../onnx/example-models";
import { temporaryFolder } from "./importer-test-files";

const files = temporaryFolder();
const importer = new OnnxImporter();

async function importError(filePath: string): Promise<InvalidModelFileError> {
	const error = await importer.import(filePath).catch((e: unknown) => e);
	expect(error).toBeInstanceOf(InvalidModelFileError);
	return error as InvalidModelFileError;
}

describe("OnnxImporter", () => {
	it("imports a model written by lib/onnx with its schema and header details", async () => {
		const imported = await importer.import(files.file("mlp.onnx", writeMlpModel()));
		expect(imported).toEqual({
			format: "onnx",
			schema: {
				inputs: [{ name: "x", datatype: "FP32", shape: [-1, 4] }],
				outputs: [
					{ name: "logits", datatype: "FP32", shape: [-1, 2] },
					{ name: "probabilities", datatype: "FP32", shape: [-1, 2] },
				],
			},
			details: {
				irVersion: 8,
				opset: 17,
				opsetImports: [{ domain: "ai.onnx", version: 17 }],
				producerName: "modelfleet-tests",
				producerVersion: "1",
			},
		});
	});

	it("maps every element type to its OIP datatype, and unknown dims to -1", async () => {
		const types: OipDatatype[] = ["INT64", "FP64", "BOOL", "BYTES", "UINT8", "FP16", "INT32"];
		const bytes = writeOnnxModel({
			opset: 13,
			graph: {
				nodes: types.map((_, i) => ({
					opType: "Identity",
					inputs: [`in${i}`],
					outputs: [`out${i}`],
				})),
				inputs: types.map((datatype, i) => ({
					name: `in${i}`,
					datatype,
					shape: i === 1 ? [-1] : ["n", 2],
				})),
				outputs: types.map((datatype, i) => ({ name: `out${i}`, datatype, shape: [] })),
			},
		});
		const { schema, details } = await importer.import(files.file("types.onnx", bytes));
		expect(schema.inputs.map(t => [t.datatype, t.shape])).toEqual(
			types.map((datatype, i) => [datatype, i === 1 ? [-1] : [-1, 2]]),
		);
		expect(schema.outputs.map(t => t.datatype)).toEqual(types);
		expect(details).toMatchObject({ irVersion: 7, opset: 13, producerName: "modelfleet" });
	});

	it("names a truncated file as truncated", async () => {
		const bytes = writeMlpModel();
		const error = await importError(files.file("cut.onnx", bytes.subarray(0, 100)));
		expect(error.type).toBe("INVALID_MODEL_FILE");
		expect(error.message).toMatch(
			/^The file is not a valid ONNX model: ModelProto field graph at byte 23 claims \d+ bytes but the file ends 74 bytes later: the file is truncated$/,
		);
		expect(error.data).toMatchObject({ format: "ONNX" });
	});

	it("gives onnxruntime's reason for a graph it cannot parse, without the stored path", async () => {
		const filePath = files.file(
			"garbage.onnx",
			Uint8Array.from([8, 8, 0x3a, 3, 0xff, 0xff, 0xff]),
		);
		const error = await importError(filePath);
		expect(error.message).toMatch(
			/onnxruntime cannot load it: Load model from the file failed: ?Protobuf parsing failed/,
		);
		expect(error.message).not.toContain(filePath);
	});

	it("gives onnxruntime's reason for an operator it does not know", async () => {
		const bytes = writeOnnxModel({
			graph: {
				nodes: [{ opType: "NoSuchOp", inputs: ["x"], outputs: ["y"] }],
				inputs: [{ name: "x", datatype: "FP32", shape: [1] }],
				outputs: [{ name: "y", datatype: "FP32", shape: [1] }],
			},
		});
		const filePath = files.file("unknown-op.onnx", bytes);
		const error = await importError(filePath);
		expect(error.message).toMatch(/onnxruntime cannot load it: .*NoSuchOp/);
		expect(error.message).not.toContain(filePath);
	});

	it("refuses a ModelProto without a graph", async () => {
		const error = await importError(files.file("nograph.onnx", Uint8Array.from([8, 8])));
		expect(error.message).toMatch(/ModelProto has no graph/);
	});
});
