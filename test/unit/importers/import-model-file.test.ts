import * as fs from "node:fs";
import * as path from "node:path";
import {
	InvalidInputError,
	InvalidModelFileError,
	SchemaMismatchError,
	UnsafeModelFormatError,
} from "../../../lib/errors";
import { importModelFile, resolveImporter, MODEL_IMPORTERS } from "../../../lib/importers";
import type { ModelImporter } from "../../../lib/importers";
import { writeMlpModel } from "../onnx/example-models";
import { FIXTURES, temporaryFolder } from "./importer-test-files";

const files = temporaryFolder();
const IRIS_BINARY = path.join(FIXTURES, "xgboost", "iris-binary-logistic.json");

async function rejection(promise: Promise<unknown>): Promise<Error> {
	const error = await promise.then(
		() => undefined,
		(e: unknown) => e,
	);
	// Node's own errors (fs) come from another realm than jest's Error: check the shape.
	expect(error).toHaveProperty("message");
	return error as Error;
}

describe("importModelFile", () => {
	it("sniffs and imports an ONNX file", async () => {
		const imported = await importModelFile(files.file("blob-1", writeMlpModel()));
		expect(imported.format).toBe("onnx");
		expect(imported.schema.inputs).toEqual([{ name: "x", datatype: "FP32", shape: [-1, 4] }]);
	});

	it("sniffs and imports XGBoost JSON, with a declared format that agrees", async () => {
		const imported = await importModelFile(IRIS_BINARY, { format: "xgboost-json" });
		expect(imported.details).toMatchObject({ objective: "binary:logistic", numFeatures: 4 });
	});

	it("refuses every pickle fixture with the explanation, whatever format was declared", async () => {
		for (const file of fs.readdirSync(path.join(FIXTURES, "pickle"))) {
			const error = await rejection(
				importModelFile(path.join(FIXTURES, "pickle", file), {
					format: "onnx",
					fileName: file,
				}),
			);
			expect(error).toBeInstanceOf(UnsafeModelFormatError);
			expect(error).toMatchObject({ type: "UNSAFE_MODEL_FORMAT", code: 400 });
			expect(error.message).toMatch(/unpickles, which runs arbitrary code/);
			expect(error.message).toMatch(/Export the model to ONNX instead/);
		}
	});

	it("refuses a file whose bytes are another format than the declared one", async () => {
		const error = await rejection(importModelFile(IRIS_BINARY, { format: "onnx" }));
		expect(error).toBeInstanceOf(InvalidModelFileError);
		expect(error.message).toBe(
			"The file is not a valid ONNX model: it looks like XGBoost JSON (an XGBoost JSON document); declare the format 'xgboost-json' or leave the format out.",
		);
	});

	it("refuses truncated ONNX and truncated JSON with the parser's reason", async () => {
		const onnx = writeMlpModel();
		const cutOnnx = await rejection(
			importModelFile(files.file("blob-2", onnx.subarray(0, 200))),
		);
		expect(cutOnnx).toMatchObject({ type: "INVALID_MODEL_FILE" });
		expect(cutOnnx.message).toMatch(/ONNX model: .*the file is truncated/);

		const json = fs.readFileSync(IRIS_BINARY).subarray(0, 1000);
		const cutJson = await rejection(importModelFile(files.file("blob-3", json)));
		expect(cutJson).toMatchObject({ type: "INVALID_MODEL_FILE" });
		expect(cutJson.message).toMatch(/XGBoost JSON model: not valid JSON: .+/);
	});

	it("refuses garbage that looks like a tar only by name", async () => {
		const error = await rejection(
			importModelFile(files.file("blob-4", "garbage ".repeat(200)), {
				fileName: "model.tar",
			}),
		);
		expect(error).toMatchObject({ type: "INVALID_MODEL_FILE", data: { format: "TF.js" } });
		expect(error.message).toMatch(/not a readable tar archive: .+/);
	});

	it("refuses unknown and empty files, saying what it reads", async () => {
		const unknown = await rejection(importModelFile(files.file("blob-5", "hello world")));
		expect(unknown).toBeInstanceOf(InvalidModelFileError);
		expect(unknown.message).toMatch(
			/^The file is not a valid ONNX, TF\.js or XGBoost JSON model: its first bytes .* modelfleet reads ONNX/,
		);
		const empty = await rejection(
			importModelFile(files.file("blob-6", ""), { format: "onnx" }),
		);
		expect(empty.message).toBe("The file is not a valid ONNX model: the file is empty");
	});

	it("reconciles the given schema, naming the place of a mismatch", async () => {
		const fixed = await importModelFile(IRIS_BINARY, {
			schema: {
				inputs: [
					{
						name: "input",
						datatype: "FP32",
						shape: [-1, 4],
						features: [
							{ name: "sepal_length", min: 4 },
							{ name: "sepal_width" },
							{ name: "petal_length" },
							{ name: "petal_width" },
						],
					},
				],
				outputs: [{ name: "predict", datatype: "FP32", shape: [-1] }],
			},
		});
		expect(fixed.schema.inputs[0].features?.[0]).toEqual({ name: "sepal_length", min: 4 });

		const error = await rejection(
			importModelFile(files.file("blob-7", writeMlpModel()), {
				schema: {
					inputs: [{ name: "x", datatype: "FP32", shape: [-1, 5] }],
					outputs: [
						{ name: "logits", datatype: "FP32", shape: [-1, 2] },
						{ name: "probabilities", datatype: "FP32", shape: [-1, 2] },
					],
				},
			}),
		);
		expect(error).toBeInstanceOf(SchemaMismatchError);
		expect(error).toMatchObject({
			type: "SCHEMA_MISMATCH",
			data: { where: "inputs[0].shape[1]", given: 5, inFile: 4 },
		});
	});

	it("refuses a format name it does not know", async () => {
		const error = await rejection(importModelFile(IRIS_BINARY, { format: "pytorch" }));
		expect(error).toBeInstanceOf(InvalidInputError);
		expect(error.message).toBe(
			"Unknown model format 'pytorch'; it is one of: onnx, tfjs, xgboost-json.",
		);
	});

	it("turns a stray parser error into INVALID_MODEL_FILE, and keeps fs errors as they are", async () => {
		const throwing: ModelImporter = {
			format: "onnx",
			label: "ONNX",
			import: async () => {
				throw new TypeError("Cannot read properties of undefined (reading 'dims')");
			},
		};
		const importers = { ...MODEL_IMPORTERS, onnx: throwing };
		const error = await rejection(
			importModelFile(files.file("blob-8", writeMlpModel()), { importers }),
		);
		expect(error).toBeInstanceOf(InvalidModelFileError);
		expect(error.message).toMatch(/reading 'dims'/);

		const missing = await rejection(importModelFile(path.join(FIXTURES, "no-such-file")));
		expect(missing).toMatchObject({ code: "ENOENT" });
	});

	it("resolves importers by format name", () => {
		expect(resolveImporter("tfjs").label).toBe("TF.js");
		expect(resolveImporter("xgboost-json").format).toBe("xgboost-json");
	});
});
