import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { sniffModelFormat, type SniffInput } from "../../../lib/importers/format-sniffer";
import { writeMlpModel } from "../onnx/example-models";
import { FIXTURES, packTar } from "./importer-test-files";

function sniffBytes(bytes: Uint8Array | string, fileName?: string) {
	const head = typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes;
	const input: SniffInput = { head: head.subarray(0, 4096), lastByte: head[head.length - 1] };
	if (fileName !== undefined) input.fileName = fileName;
	return sniffModelFormat(input);
}

function sniffFixture(...parts: string[]) {
	return sniffBytes(fs.readFileSync(path.join(FIXTURES, ...parts)), parts[parts.length - 1]);
}

describe("sniffModelFormat", () => {
	it("knows an ONNX ModelProto by its first fields", () => {
		expect(sniffBytes(writeMlpModel())).toEqual({
			kind: "model",
			format: "onnx",
			evidence: "a ModelProto",
		});
	});

	it("knows a tar, and a gzipped tar, as TF.js", async () => {
		const tar = await packTar([{ name: "model.json", data: "{}" }]);
		expect(sniffBytes(tar)).toMatchObject({ kind: "model", format: "tfjs" });
		expect(sniffBytes(zlib.gzipSync(tar))).toMatchObject({
			kind: "model",
			format: "tfjs",
			compression: "gzip",
		});
	});

	it("knows XGBoost JSON by its learner object, even cut short", () => {
		const text = fs.readFileSync(path.join(FIXTURES, "xgboost", "iris-binary-logistic.json"));
		expect(sniffBytes(text)).toMatchObject({ kind: "model", format: "xgboost-json" });
		expect(sniffBytes(text.subarray(0, 50))).toMatchObject({ format: "xgboost-json" });
		expect(sniffBytes(' \n{"learner": {}}')).toMatchObject({ format: "xgboost-json" });
	});

	it.each([
		["dict-protocol4.pkl", "Python pickle (protocol 4)"],
		["dict-protocol2.pkl", "Python pickle (protocol 2)"],
		["dict-protocol1.pkl", "Python pickle (protocol 0 or 1)"],
		["dict-protocol0.pkl", "Python pickle (protocol 0 or 1)"],
		["ordered-dict-protocol0.pkl", "Python pickle (protocol 0 or 1)"],
		["dict.joblib", "joblib (Python pickle, protocol 4)"],
		["dict-zlib.joblib", "joblib or Python pickle (zlib-compressed)"],
		["dict-gzip.joblib", "joblib or Python pickle (gzip-compressed)"],
		["dict-protocol4.pkl.gz", "joblib or Python pickle (gzip-compressed)"],
	])("refuses the pickle fixture %s as %s", (file, detected) => {
		expect(sniffFixture("pickle", file)).toEqual({ kind: "unsafe", detected });
	});

	it("finds old-protocol pickles by their bytes alone, without a telling name", () => {
		for (const file of ["dict-protocol0.pkl", "dict-protocol1.pkl", "dict-zlib.joblib"]) {
			const bytes = fs.readFileSync(path.join(FIXTURES, "pickle", file));
			expect(sniffBytes(bytes)).toMatchObject({ kind: "unsafe" });
		}
	});

	it("refuses by name a pickle-family file whose bytes say nothing", () => {
		expect(sniffBytes("\x00\x01\x02", "model.pkl")).toEqual({
			kind: "unsafe",
			detected: "Python pickle (by the name 'model.pkl')",
		});
		expect(sniffBytes("BZh91AY&SY", "model.joblib")).toMatchObject({ kind: "unsafe" });
	});

	it("refuses a PyTorch zip, which holds a pickle", () => {
		const header = Buffer.alloc(30);
		header.write("PK\x03\x04", 0, "latin1");
		header.writeUInt16LE("archive/data.pkl".length, 26);
		const zip = Buffer.concat([header, Buffer.from("archive/data.pkl")]);
		expect(sniffBytes(zip)).toEqual({
			kind: "unsafe",
			detected: "PyTorch (a zip holding a Python pickle)",
		});
	});

	it.each([
		["", "the file is empty"],
		['{"modelTopology": {}, "weightsManifest": []}', "a TF.js model.json on its own"],
		['{"a": 1}', 'not an XGBoost model (no "learner" object'],
		["{L\x00\x00\x00\x00\x00\x00\x00\x07learner{", "UBJSON"],
		["\x89HDF\r\n\x1a\n\x00\x00", "HDF5 file"],
		["BZh91AY&SY", "bz2-compressed data"],
		["hello world", "its first bytes are none of the formats"],
		["(I think this is not a pickle)", "its first bytes"],
	])("says what %j is instead of guessing", (bytes, reason) => {
		const result = sniffBytes(bytes);
		expect(result.kind).toBe("unknown");
		expect(result.kind === "unknown" && result.reason).toContain(reason);
	});

	it("never quotes the bytes it looks at, raw or as hex", () => {
		const head = "sepal_length,sepal_width,species\n5.1,3.5,setosa\n";
		const result = sniffBytes(head);
		const reason = result.kind === "unknown" ? result.reason : "";
		expect(reason).not.toMatch(/sepal|73 65 70/);
		const zip = sniffBytes("PK\x03\x04" + "\x00".repeat(22) + "\x0a\x00\x00\x00secret.bin");
		expect(zip.kind === "unknown" && zip.reason).not.toContain("secret");
	});

	it("falls back on the name for bytes it cannot place", () => {
		expect(sniffBytes("\x00\x00", "model.onnx")).toMatchObject({ format: "onnx" });
		expect(sniffBytes("\x00\x00", "model.tar.gz")).toMatchObject({ format: "tfjs" });
	});
});
