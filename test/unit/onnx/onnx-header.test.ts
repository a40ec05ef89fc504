import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readOnnxHeader } from "../../../lib/onnx/onnx-header";
import { writeOnnxModel } from "../../../lib/onnx/onnx-writer";
import { ProtobufDecodeError } from "../../../lib/onnx/protobuf-reader";
import { ProtobufWriter } from "../../../lib/onnx/protobuf-writer";
import { MLP_SPEC } from "./example-models";

const folder = fs.mkdtempSync(path.join(os.tmpdir(), "modelfleet-onnx-header-"));
afterAll(() => fs.rmSync(folder, { recursive: true, force: true }));

function file(name: string, bytes: Uint8Array): string {
	const filePath = path.join(folder, name);
	fs.writeFileSync(filePath, bytes);
	return filePath;
}

describe("readOnnxHeader", () => {
	it("reads IR version, producer and opsets, and measures the graph", async () => {
		const bytes = writeOnnxModel({
			...MLP_SPEC,
			opset: [
				{ domain: "", version: 15 },
				{ domain: "ai.onnx.ml", version: 3 },
			],
			docString: "an MLP",
			metadata: { author: "tests" },
		});
		const header = await readOnnxHeader(file("mlp.onnx", bytes));
		expect(header).toMatchObject({
			irVersion: 8,
			producerName: "modelfleet-tests",
			producerVersion: "1",
			opsetImports: [
				{ domain: "", version: 15 },
				{ domain: "ai.onnx.ml", version: 3 },
			],
		});
		expect(header.graphBytes).toBeGreaterThan(200);
	});

	it("skips fields it does not know, as newer ONNX versions add them", async () => {
		const bytes = new ProtobufWriter()
			.int64(1, 9)
			.bytes(7, new Uint8Array(10))
			.string(99, "future field")
			.double(100, 1.5)
			.finish();
		const header = await readOnnxHeader(file("future.onnx", bytes));
		expect(header).toMatchObject({ irVersion: 9, graphBytes: 10, opsetImports: [] });
	});

	it.each([
		[
			"cut inside the graph",
			(b: Uint8Array) => b.subarray(0, b.length - 5),
			/the file is truncated/,
		],
		[
			"cut inside a varint",
			() => Uint8Array.from([0x08, 0x88]),
			/ends inside the field that starts at byte 0/,
		],
		[
			"a field of the wrong wire type",
			() => Uint8Array.from([0x0a, 0x00]),
			/ir_version has wire type 2, expected 0/,
		],
		["a group wire type", () => Uint8Array.from([0x08, 0x08, 0x0b]), /unsupported wire type 3/],
		["no graph", () => Uint8Array.from([0x08, 0x08]), /ModelProto has no graph/],
	])("refuses %s", async (_, cut, reason) => {
		const bytes = cut(writeOnnxModel(MLP_SPEC));
		const error = await readOnnxHeader(file("bad.onnx", bytes)).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(ProtobufDecodeError);
		expect((error as Error).message).toMatch(reason);
	});
});
